"""Log over MemoryStorage, export layout, golden bytes, sigaudit CLI and key rotation."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit import events, merkle
from audit.checkpoint import Checkpoint, sign_checkpoint
from audit.cli import main
from audit.errors import EventTimeError, ExportError, StorageError
from audit.export import tile_index_path, tile_path, write_export
from audit.log import MAX_CLOCK_SKEW, Log
from audit.note import Signer
from audit.storage import MemoryStorage
from audit.strict import b64encode
from audit.verify import verify_export
from tests.audit import archive, golden, reference

ORIGIN = golden.ORIGIN
KEY, KEY2 = golden.FIRST_KEY, golden.SECOND_KEY
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _log(n: int, every: int = 0) -> tuple[Log, MemoryStorage, list[bytes]]:
    storage = MemoryStorage()
    log = Log(storage, ORIGIN)
    data = [f"entry {i}".encode() for i in range(n)]
    for i in range(0, n, 7):
        log.append(data[i : i + 7])
        if every and (i // 7) % every == 0:
            log.checkpoint([KEY])
    log.checkpoint([KEY])
    return log, storage, data


def _export(storage: MemoryStorage) -> bytes:
    out = io.BytesIO()
    write_export(storage, out)
    return out.getvalue()


def test_golden_export_is_byte_identical() -> None:
    assert golden.export_bytes() == golden.GOLDEN.read_bytes()
    assert golden.FIRST_KEY.verifier().vkey == (golden.DATA / "golden.vkey").read_text().strip()


def test_tile_paths_follow_tlog_tiles() -> None:
    assert tile_index_path(1234067) == "x001/x234/067"
    assert tile_index_path(5) == "005"
    assert tile_path(0, 1, 17) == "tile/0/001.p/17"
    assert tile_path("entries", 1000) == "tile/entries/x001/000"


def test_log_matches_reference_and_storage_refuses_gaps() -> None:
    log, storage, data = _log(40)
    assert log.root() == reference.mth(data)
    for m in (0, 13, 39):
        assert log.inclusion_proof(m, 40) == reference.path(m, data)
    assert log.consistency_proof(17, 40) == reference.proof(17, data)
    with pytest.raises(StorageError):
        storage.append(39, [(b"x", merkle.leaf_hash(b"x"))], [])
    with pytest.raises(StorageError):
        storage.append(41, [(b"x", merkle.leaf_hash(b"x"))], [])
    assert storage.size() == 40


def test_receipt_round_trip_through_cli(tmp_path: Path) -> None:
    log, _, _ = _log(30)
    receipt = tmp_path / "r.tlog-proof"
    receipt.write_bytes(log.receipt(11))
    assert main(["verify-receipt", str(receipt), "--key", KEY.verifier().vkey]) == 0
    assert main(["verify-receipt", str(receipt), "--key", KEY2.verifier().vkey]) == 1
    assert main(["verify-receipt", str(receipt), "--key", "not-a-key"]) == 2
    log.append([b"late"])  # not covered by a checkpoint yet
    with pytest.raises(StorageError):
        log.receipt(30)


def test_upper_tiles_written_and_checked() -> None:
    _, storage, _ = _log(256 * 256 + 300)
    raw = _export(storage)
    names = [n for n, _ in archive.members(raw)]
    assert "tile/1/000" in names and "tile/1/001.p/1" in names and "tile/2/000.p/1" in names
    verify_export(io.BytesIO(raw), [KEY.verifier()])
    items = archive.members(raw)
    i = names.index("tile/1/000")
    tampered = bytearray(items[i][1])
    tampered[32 * 5] ^= 1
    items[i] = (items[i][0], bytes(tampered))
    with pytest.raises(ExportError) as exc:
        verify_export(io.BytesIO(archive.rebuild(items)), [KEY.verifier()])
    assert (exc.value.kind, exc.value.index) == ("tile", 5 * 256)


def test_cli_reports_first_bad_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, storage, _ = _log(600, every=10)
    items = archive.members(_export(storage))
    i = [n for n, _ in items].index("tile/entries/001")
    bundle = bytearray(items[i][1])
    bundle[2 + len("entry 256") - 1] ^= 0x01  # last byte of entry 256
    items[i] = (items[i][0], bytes(bundle))
    path = tmp_path / "bad.tar"
    path.write_bytes(archive.rebuild(items))
    vkey = KEY.verifier().vkey
    assert main(["verify", str(path), "--key", vkey, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["error"]["index"] == 256 and doc["error"]["kind"] == "entry"
    assert main(["verify", str(path), "--key", vkey]) == 1
    assert "first bad index: 256" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "missing.tar"), "--key", vkey]) == 2


def test_cli_consistency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log, storage, _ = _log(100)
    old_note = storage.checkpoints()[-1][1]
    log.append([b"more"] * 50)
    new_note = log.checkpoint([KEY])
    (tmp_path / "old").write_bytes(old_note)
    (tmp_path / "new").write_bytes(new_note)
    (tmp_path / "export.tar").write_bytes(_export(storage))
    proof = log.consistency_proof(100, 150)
    (tmp_path / "proof").write_text("".join(f"{b64encode(h)}\n" for h in proof))
    vkey = KEY.verifier().vkey
    old, new, pf = (str(tmp_path / n) for n in ("old", "new", "proof"))
    assert main(["consistency", old, new, "--proof", pf, "--key", vkey]) == 0
    assert main(["consistency", old, str(tmp_path / "export.tar"), "--key", vkey]) == 0
    assert main(["consistency", old, new, "--key", vkey]) == 1  # no proof
    assert main(["consistency", new, old, "--proof", pf, "--key", vkey]) == 1
    with pytest.raises(SystemExit) as refused:  # no key: fail closed, exit 2
        main(["consistency", old, new, "--proof", pf])
    assert refused.value.code == 2
    assert "--key" in capsys.readouterr().err


def test_rotation_rules() -> None:
    storage = MemoryStorage()
    log = Log(storage, ORIGIN)
    log.append([b"a", b"b"])
    log.checkpoint([KEY])
    log.rotate_key(AT, KEY, KEY2)
    log.append([b"c"])
    log.checkpoint([KEY2])
    report = verify_export(io.BytesIO(_export(storage)), [KEY.verifier()])
    assert report.key_rotations == 1 and report.final_keys == (KEY2.verifier().vkey,)
    # The old key may not sign alone after the switch.
    log.append([b"d"])
    log.checkpoint([KEY])
    with pytest.raises(ExportError) as exc:
        verify_export(io.BytesIO(_export(storage)), [KEY.verifier()])
    assert exc.value.kind == "checkpoint"


def test_switch_checkpoint_needs_both_keys() -> None:
    storage = MemoryStorage()
    log = Log(storage, ORIGIN)
    log.append([b"a"])
    log.checkpoint([KEY])
    log.rotate_key(AT, KEY, KEY2)
    storage.notes[-1] = (storage.notes[-1][0], log_checkpoint_text_signed(storage, [KEY2]))
    with pytest.raises(ExportError) as exc:
        verify_export(io.BytesIO(_export(storage)), [KEY.verifier()])
    assert (exc.value.kind, exc.value.index) == ("key", 1)
    # A rotation away from a key the auditor does not trust is refused at its entry.
    other = Signer(ORIGIN, bytes(32))
    storage2 = MemoryStorage()
    log2 = Log(storage2, ORIGIN)
    log2.append([b"a"])
    log2.rotate_key(AT, other, KEY2)
    with pytest.raises(ExportError) as exc:
        verify_export(io.BytesIO(_export(storage2)), [KEY.verifier()])
    assert (exc.value.kind, exc.value.index) == ("key", 1)


def log_checkpoint_text_signed(storage: MemoryStorage, signers: list[Signer]) -> bytes:
    size = storage.size()
    return sign_checkpoint(Checkpoint(ORIGIN, size, merkle.root_at(size, storage)), signers)


def test_console_entry_point_on_the_golden_export() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "audit.cli",
            "verify",
            str(golden.GOLDEN),
            "--key",
            str(golden.DATA / "golden.vkey"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK ") and "273 entries" in result.stdout


def _event(at: datetime) -> events.Event:
    return events.initiative_closed(at=at, initiative="i-1", reason="CLOSED", accepted=0)


def test_log_refuses_event_times_that_go_backwards_or_ahead() -> None:
    log = Log(MemoryStorage(), ORIGIN)
    log.append_events([_event(AT)], now=AT)
    log.append_events([_event(AT)], now=AT)  # equal times are in order
    with pytest.raises(EventTimeError, match="before the previous"):
        log.append_events([_event(AT - timedelta(milliseconds=1))], now=AT)
    with pytest.raises(EventTimeError, match="beyond the clock"):
        log.append_events([_event(AT + MAX_CLOCK_SKEW + timedelta(milliseconds=1))], now=AT)
    log.append_events([_event(AT + MAX_CLOCK_SKEW)], now=AT)  # within the skew
    with pytest.raises(EventTimeError):  # out of order inside one batch
        log.append_events([_event(AT + timedelta(hours=1)), _event(AT)])
    assert log.size == 3


def test_sigaudit_verify_checks_event_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log written around the check (raw appends) is caught by the auditor."""
    storage = MemoryStorage()
    log = Log(storage, ORIGIN)
    log.append([_event(AT + timedelta(minutes=m)).leaf_data() for m in (0, 5, 3, 9)])
    log.checkpoint([KEY])
    (tmp_path / "export.tar").write_bytes(_export(storage))
    with pytest.raises(ExportError) as info:
        verify_export(io.BytesIO(_export(storage)), [KEY.verifier()])
    assert info.value.kind == "time" and info.value.index == 2
    code = main(["verify", str(tmp_path / "export.tar"), "--key", KEY.verifier().vkey])
    assert code == 1
    assert "entry 2" in capsys.readouterr().out
