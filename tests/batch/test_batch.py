"""Batches of real .edoc containers: written, verified by ``sigaudit verify-batch``, chained by
consistency, re-verified with crypto/, and every tamper refused with its precise reason."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from audit.checkpoint import Checkpoint, sign_checkpoint
from certification.testpki import clock
from certification.testpki.tl import build_trusted_list
from tests.batch.kit import ORIGIN, Kit, Person, members
from tests.batch.tampers import TAMPERS

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
TL_SIGNER = (
    Path(__file__).resolve().parents[2] / "certification/testpki/generated/certs/tl_operator.pem"
)

Edocs = list[tuple[bytes, Person]]


def _first(kit: Kit, edocs: Edocs, n: int = 4) -> Path:
    records = [kit.accept(f"sig-{i}", c, who) for i, (c, who) in enumerate(edocs[:n])]
    return kit.batch(records)


def test_batch_verifies(kit: Kit, edocs: Edocs) -> None:
    batch = _first(kit, edocs)
    code, out = kit.verify(batch)
    assert (code, out["ok"], out["count"], out["sequence"]) == (0, True, 4, 1)
    assert out["seal"] == "CN=TEST batch seal,O=TEST sigsvc operator,C=LV"
    assert out["checkpoint_size"] == kit.log.size


def test_layout_is_asice_with_containers_unchanged(kit: Kit, edocs: Edocs) -> None:
    batch = _first(kit, edocs)
    with zipfile.ZipFile(batch) as zf:
        infos = zf.infolist()
    assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
    assert infos[-1].filename == "META-INF/signatures0.xml"
    files = members(batch)
    assert files["mimetype"] == b"application/vnd.etsi.asic-e+zip"
    for i in range(4):
        assert files[f"signatures/sig-{i}.edoc"] == edocs[i][0]
    manifest = json.loads(files["manifest.json"])
    assert files["log/checkpoint"].decode() == manifest["log"]["checkpoint"]
    for name in ("manifest.json", "log/checkpoint", "signatures/sig-0.edoc"):
        assert f'manifest:full-path="{name}"'.encode() in files["META-INF/manifest.xml"]


def test_manifest_matches_its_schema(kit: Kit, edocs: Edocs) -> None:
    manifest = json.loads(members(_first(kit, edocs))["manifest.json"])
    schema = json.loads((SCHEMAS / "batch-manifest.schema.json").read_text())
    leaf = json.loads((SCHEMAS / "log-leaf.schema.json").read_text())
    registry: Registry = Registry().with_resource(leaf["$id"], Resource.from_contents(leaf))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    validator.validate(manifest)
    manifest["entries"][0]["leaf"]["given_name"] = "LĪGA"  # personal data in a leaf: refused
    assert not validator.is_valid(manifest)
    entry = manifest["entries"][0]
    assert (entry["given_name"], entry["personal_code"]) == (
        edocs[0][1].given_name,
        edocs[0][1].personal_code,
    )
    assert entry["container_sha256"] == hashlib.sha256(edocs[0][0]).hexdigest()


def test_second_batch_proves_consistency_with_the_first(kit: Kit, edocs: Edocs) -> None:
    first = _first(kit, edocs, 3)
    first_checkpoint = kit.last_checkpoint
    assert first_checkpoint is not None
    records = [kit.accept(f"sig-{i}", c, who) for i, (c, who) in enumerate(edocs[3:], 3)]
    second = kit.batch(records)
    trusted = kit.tmp / "witness"
    trusted.write_bytes(first_checkpoint)
    code, out = kit.verify(second, "--trusted-checkpoint", str(trusted))
    assert (code, out["sequence"], out["count"]) == (0, 2, 3)
    assert out["previous_size"] == int(first_checkpoint.split(b"\n")[1])
    # A witness that holds a checkpoint the batch does not link to refuses it.
    kit.log.append_events([])
    unrelated = sign_checkpoint(Checkpoint(ORIGIN, 1, kit.log.root(1)), [kit.log_signer])
    trusted.write_bytes(unrelated)
    code, out = kit.verify(second, "--trusted-checkpoint", str(trusted))
    assert (code, out["error"]["reason"]) == (1, "INCONSISTENT_LOG")
    # The first batch's own checkpoint is fine as the trusted one for the first batch.
    trusted.write_bytes(first_checkpoint)
    assert kit.verify(first, "--trusted-checkpoint", str(trusted))[0] == 0


def test_containers_reverified_with_crypto(kit: Kit, edocs: Edocs) -> None:
    batch = _first(kit, edocs, 3)
    tl = kit.tmp / "tl.xml"
    tl.write_bytes(build_trusted_list())
    trust = ["--trusted-list", str(tl), "--tl-signer", str(TL_SIGNER)]
    fetched = (clock.TL_ISSUED).isoformat()
    code, out = kit.verify(batch, *trust, "--tl-fetched-at", fetched)
    assert (code, out["containers_verified"]) == (0, True), out
    # The operator lists another person for a genuine container: only re-verification sees it.
    from tests.batch.kit import reseal

    def edit(m: dict[str, object]) -> None:
        m["entries"][1]["personal_code"] = "010101-10006"  # type: ignore[index]

    lying = reseal(kit, batch, kit.tmp / "lying.asice", edit)
    assert kit.verify(lying)[0] == 0  # sealed and logged: structurally a valid batch
    code, out = kit.verify(lying, *trust, "--tl-fetched-at", fetched)
    assert (code, out["error"]["reason"], out["error"]["entry"]) == (1, "CONTAINER_INVALID", 1)


def test_other_operator_seal_is_refused(kit: Kit, edocs: Edocs, tmp_path: Path) -> None:
    from certification.sealpki import make_seal_pki

    batch = _first(kit, edocs, 2)
    (tmp_path / "other").mkdir()
    other_ca = make_seal_pki("OTHER").write(tmp_path / "other")[2]
    kit.seal_ca = other_ca
    code, out = kit.verify(batch)
    assert (code, out["error"]["reason"]) == (1, "SEAL_INVALID")


def test_wrong_log_key_is_refused(kit: Kit, edocs: Edocs) -> None:
    batch = _first(kit, edocs, 2)
    from audit.note import Signer

    kit.log_signer = Signer.generate("sigsvc.test-log")
    code, out = kit.verify(batch)
    assert (code, out["error"]["reason"]) == (1, "CHECKPOINT_INVALID")


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tamper_is_refused_with_its_reason(kit: Kit, edocs: Edocs, name: str) -> None:
    tamper, reason, second = TAMPERS[name]
    batch = _first(kit, edocs, 3)
    if second:
        records = [kit.accept(f"sig-{i}", c, who) for i, (c, who) in enumerate(edocs[3:], 3)]
        batch = kit.batch(records)
    assert kit.verify(batch)[0] == 0
    bad = tamper(kit, batch, kit.tmp / f"tampered-{name}.asice")
    code, out = kit.verify(bad)
    assert (code, out["ok"], out["error"]["reason"]) == (1, False, reason), out
