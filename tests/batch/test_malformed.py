"""Writer refusals (nothing left on disk) and hostile batch files (MALFORMED_BATCH first)."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.batch import BatchError, ZipBatchArchive, verify_batch
from sigsvc.export.writer import BatchWriteError, EntryRecord
from tests.batch.kit import Kit, Person, members, rewrite

WHO = Person("LĪGA", "OZOLIŅA", "327811-40213")


def _records(kit: Kit, n: int = 3) -> list[EntryRecord]:
    return [kit.accept(f"sig-{i}", f"container {i}".encode(), WHO) for i in range(n)]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda rs: [rs[1], rs[0], rs[2]], id="out-of-order"),
        pytest.param(lambda rs: [], id="empty"),
        pytest.param(
            lambda rs: [dataclasses.replace(rs[0], container=b"other"), *rs[1:]],
            id="container-not-the-logged-one",
        ),
        pytest.param(
            lambda rs: [dataclasses.replace(rs[0], leaf=rs[0].leaf + b" "), *rs[1:]],
            id="leaf-not-canonical",
        ),
        pytest.param(
            lambda rs: [dataclasses.replace(rs[0], leaf_index=rs[0].leaf_index + 1), *rs[1:]],
            id="leaf-index-wrong",
        ),
        pytest.param(
            lambda rs: [dataclasses.replace(rs[0], media_type="text/plain"), *rs[1:]],
            id="media-type",
        ),
    ],
)
def test_writer_refuses_and_leaves_nothing(
    kit: Kit, spoil: Callable[[list[EntryRecord]], list[EntryRecord]]
) -> None:
    records = spoil(_records(kit))
    with pytest.raises(BatchWriteError):
        kit.batch(records, name="bad.asice")
    assert sorted(p.name for p in kit.tmp.iterdir()) == []


def test_batch_not_covered_by_its_checkpoint_is_refused(kit: Kit) -> None:
    records = _records(kit)
    kit.log.checkpoint([kit.log_signer])
    late = kit.accept("sig-late", b"late", WHO)
    # The kit cuts a fresh checkpoint; hand the writer an old one by hand instead.
    from audit.checkpoint import Checkpoint, sign_checkpoint
    from sigsvc.export.writer import BatchInfo, LogProofs, write_batch
    from tests.batch.kit import CREATED, INITIATIVE, ORIGIN

    old = sign_checkpoint(
        Checkpoint(ORIGIN, late.leaf_index, kit.log.root(late.leaf_index)), [kit.log_signer]
    )
    with pytest.raises(BatchWriteError, match="not in the batch checkpoint"):
        write_batch(
            kit.tmp / "b.asice",
            BatchInfo("b", 1, CREATED, INITIATIVE),
            iter([*records, late]),
            LogProofs(ORIGIN, kit.vkey, old, kit.log.storage),
            kit.sealer,
        )


def _verify(kit: Kit, path: Path) -> str:
    try:
        with path.open("rb") as stream:
            verify_batch(ZipBatchArchive(stream), [kit.log_signer.verifier()], seal_check=None)
    except BatchError as exc:
        return str(exc.reason)
    return "OK"


def _manifest_edit(
    edit: Callable[[bytes], bytes],
) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        files["manifest.json"] = edit(files["manifest.json"])
        return files

    return change


def _mimetype_second(kit: Kit, batch: Path, out: Path) -> Path:
    files = members(batch)
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", files.pop("manifest.json"))
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def _duplicate_member(kit: Kit, batch: Path, out: Path) -> Path:
    rewrite(batch, out, lambda f: f)
    with zipfile.ZipFile(out, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("signatures/sig-0.edoc", b"second copy")
    return out


HOSTILE: dict[str, Callable[[Kit, Path, Path], Path]] = {
    "not-a-zip": lambda k, b, o: (o.write_bytes(b"PK\x03\x04 not really"), o)[1],
    "mimetype-not-first": _mimetype_second,
    "duplicate-member": _duplicate_member,
    "unknown-member": lambda k, b, o: rewrite(b, o, lambda f: {**f, "extra.txt": b""}),
    "seal-missing": lambda k, b, o: rewrite(
        b, o, lambda f: {n: d for n, d in f.items() if n != "META-INF/signatures0.xml"}
    ),
    "duplicate-key": lambda k, b, o: rewrite(
        b, o, _manifest_edit(lambda m: m.replace(b'{"format"', b'{"count":1,"format"', 1))
    ),
    "nan": lambda k, b, o: rewrite(
        b, o, _manifest_edit(lambda m: m.replace(b'"count":3', b'"count":NaN'))
    ),
    "version-2": lambda k, b, o: rewrite(
        b, o, _manifest_edit(lambda m: m.replace(b'"version":1', b'"version":2'))
    ),
    "not-json": lambda k, b, o: rewrite(b, o, _manifest_edit(lambda m: m[:-5])),
    "file-name-not-the-id": lambda k, b, o: rewrite(
        b,
        o,
        _manifest_edit(
            lambda m: m.replace(b'"file":"signatures/sig-0.edoc"', b'"file":"signatures/x.edoc"')
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_batch_is_malformed(kit: Kit, name: str) -> None:
    batch = kit.batch(_records(kit))
    assert _verify(kit, batch) == "OK"
    assert json.loads(members(batch)["manifest.json"])["count"] == 3
    assert _verify(kit, HOSTILE[name](kit, batch, kit.tmp / f"{name}.asice")) == "MALFORMED_BATCH"
