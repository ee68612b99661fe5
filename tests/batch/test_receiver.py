"""The reference receiver over real HTTP on 127.0.0.1: verifies like sigaudit, witnesses the
log, acknowledges with a signed note, idempotent, and refuses every tamper with its reason."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from audit import events
from audit.note import Signer, open_note
from certification.receiver import ReceiverConfig, serve_receiver
from tests.batch.kit import Kit, Person
from tests.batch.tampers import TAMPERS

RECEIVED = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
Edocs = list[tuple[bytes, Person]]


@dataclass
class Running:
    url: str
    signer: Signer
    db: Path

    def post(self, batch: Path, key: str) -> requests.Response:
        return requests.post(
            f"{self.url}/batches",
            data=batch.read_bytes(),
            headers={"Idempotency-Key": key, "Content-Type": "application/vnd.etsi.asic-e+zip"},
            timeout=30,
        )

    def rows(self, table: str) -> int:
        with closing(sqlite3.connect(self.db)) as db:
            count: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return count


@pytest.fixture
def receiver(kit: Kit, tmp_path: Path) -> Iterator[Running]:
    signer = Signer.generate("cvk.test-ack")
    config = ReceiverConfig(
        name="cvk.test",
        signer=signer,
        log_keys=[kit.log_signer.verifier()],
        seal_anchors=[kit.seal_ca.read_bytes()],
        db_path=tmp_path / "receiver.sqlite",
        clock=lambda: RECEIVED,
    )
    with serve_receiver(config) as url:
        yield Running(url, signer, config.db_path)


def _batch(kit: Kit, edocs: Edocs, start: int, stop: int) -> Path:
    records = [
        kit.accept(f"sig-{i}", c, who) for i, (c, who) in enumerate(edocs[start:stop], start)
    ]
    return kit.batch(records)


def test_healthz(receiver: Running) -> None:
    answer = requests.get(f"{receiver.url}/healthz", timeout=10).json()
    assert answer == {"status": "ok", "name": "cvk.test", "key": receiver.signer.verifier().vkey}


def test_accepts_and_signs_an_acknowledgement(receiver: Running, kit: Kit, edocs: Edocs) -> None:
    response = receiver.post(_batch(kit, edocs, 0, 3), "key-1")
    assert response.status_code == 201
    ack = response.json()
    note = ack["acknowledgement"].encode()
    parsed, _ = open_note(note, [receiver.signer.verifier()])
    lines = parsed.text.decode().splitlines()
    assert lines[:3] == ["sigsvc-batch-ack/v1", "cvk.test", "batch-1"]
    assert lines[4:7] == [ack["manifest_sha256"], "ACCEPTED", "OK"]
    assert lines[-1] == "2026-03-03T12:00:00.000Z"
    assert ack["acknowledgement_sha256"] == hashlib.sha256(note).hexdigest()
    # What the service logs from it:
    events.batch_acknowledged(
        at=RECEIVED,
        batch=ack["batch"],
        status=ack["status"],
        acknowledgement_sha256=ack["acknowledgement_sha256"],
    )


def test_idempotent(receiver: Running, kit: Kit, edocs: Edocs) -> None:
    batch = _batch(kit, edocs, 0, 3)
    first = receiver.post(batch, "key-1")
    again = receiver.post(batch, "key-1")
    other_key = receiver.post(batch, "key-2")
    assert (first.status_code, again.status_code, other_key.status_code) == (201, 200, 200)
    assert first.json() == again.json() == other_key.json()
    assert receiver.rows("batches") == 1
    second = _batch(kit, edocs, 3, 6)
    conflict = receiver.post(second, "key-1")
    assert (conflict.status_code, conflict.json()) == (409, {"error": "IDEMPOTENCY_CONFLICT"})
    assert receiver.post(second, "key-3").status_code == 201
    assert receiver.rows("batches") == 2
    missing = requests.post(f"{receiver.url}/batches", data=b"x", timeout=10)
    assert missing.status_code == 400


def test_witness_refuses_a_log_that_does_not_extend_what_it_saw(
    receiver: Running, kit: Kit, edocs: Edocs, tmp_path: Path, seal_files: tuple[Path, Path, Path]
) -> None:
    assert receiver.post(_batch(kit, edocs, 0, 3), "key-1").status_code == 201
    # The same operator restarts its log from scratch (a fork) and sends a first batch again.
    (tmp_path / "fork").mkdir()
    fork = Kit(tmp_path / "fork", kit.sealer, kit.seal_ca, log_signer=kit.log_signer)
    fork.accept("sig-x", edocs[5][0], edocs[5][1])
    refused = receiver.post(_batch(fork, edocs, 3, 5), "key-2")
    assert (refused.status_code, refused.json()["reason"]) == (422, "INCONSISTENT_LOG")
    open_note(refused.json()["acknowledgement"].encode(), [receiver.signer.verifier()])
    assert receiver.rows("batches") == 1


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tamper_is_refused_with_its_reason(
    receiver: Running, kit: Kit, edocs: Edocs, name: str
) -> None:
    tamper, reason, second = TAMPERS[name]
    batch = _batch(kit, edocs, 0, 3)
    if second:
        assert receiver.post(batch, "first").status_code == 201
        batch = _batch(kit, edocs, 3, 6)
    bad = tamper(kit, batch, kit.tmp / f"tampered-{name}.asice")
    refused = receiver.post(bad, "tampered")
    assert (refused.status_code, refused.json()["reason"]) == (422, reason)
    assert receiver.rows("batches") == (1 if second else 0)
