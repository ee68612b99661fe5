"""Faults (issue 9): SIGKILL of the operator's export and retention commands mid-run.

Each command is killed the moment an observable phase of its work is reached (a batch file
being written, written but not logged; records being erased, the file deleted but nothing
logged). After each kill: no answered signature is lost, the log is dense and `sigaudit verify`
passes, and the next run of the same command completes by itself (no manual repair) and leaves
no file with personal data behind. A test whose kills never hit a running command fails.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from audit import cli as sigaudit
from bench.records import seed_exportable
from sigsvc import db, services
from sigsvc.export import batches, handover
from sigsvc.log.storage import SqlLogStorage
from tests.export.conftest import SIGNERS, log_vkey
from tests.signatures.conftest import post, settings_env


def _env(app: Flask, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(settings_env(app.config))
    env.update(app.config["BATCH_SEAL"])
    env["DATABASE_URL"] = app.config["DATABASE_URL"]
    env["SIGSVC_BATCH_DIR"] = app.config["BATCH_DIR"]
    env["SIGSVC_RETENTION_DAYS"] = str(app.config["RETENTION_DAYS"])
    env["SIGSVC_LOG_LEVEL"] = "WARNING"
    env["SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES"] = "1"  # the test responders on 127.0.0.1
    env.update(extra)
    return env


def _state(app: Flask) -> dict[str, Any]:
    with db.engine_of(app).connect() as conn:
        return {
            "accepted": conn.scalar(
                sa.text("SELECT count(*) FROM signatures WHERE status = 'accepted'")
            ),
            "batched": conn.execute(
                sa.text("SELECT id, batch_id FROM signatures WHERE batch_id IS NOT NULL")
            ).all(),
            "batches": conn.execute(sa.text("SELECT id, status, count FROM batches")).all(),
        }


def _log_verifies(app: Flask, tmp_path: Path) -> None:
    with db.session_scope(app) as session:
        storage = SqlLogStorage(session)
        size = storage.size()
        entries = storage.entries(0, size)
        assert len(entries) == size  # dense: every index 0..size-1 present
    client = app.test_client()
    export = client.get("/v1/log/export")
    assert export.status_code == 200
    path = tmp_path / "log.tar"
    path.write_bytes(export.get_data())
    export.close()
    with redirect_stdout(io.StringIO()):
        assert sigaudit.main(["verify", str(path), "--key", log_vkey(app), "--quiet"]) == 0


def _run_and_kill_when(args: list[str], env: dict[str, str], reached: Callable[[], bool]) -> bool:
    """Run `sigsvc ARGS` and SIGKILL it the moment `reached()` holds (polled every few ms).
    True when it was killed there; False when it finished first."""
    sigsvc = Path(sys.executable).parent / "sigsvc"
    proc = subprocess.Popen(
        [str(sigsvc), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if reached():
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return True
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigkill_during_batch_export(app, client, initiative, container, tmp_path):
    """Killed while the batch file is written (the TSA and OCSP round trips of the seal), then
    once the file is complete but before `batch.exported` is logged: each time nothing answered
    is lost, the log verifies, and the next export completes by itself and leaves no orphan
    file holding personal data behind."""
    for signer in SIGNERS:
        assert post(client, initiative, container(signer)).status_code == 201
    env = _env(app)
    directory = Path(app.config["BATCH_DIR"])
    phases = {
        "writing": lambda: any(directory.glob("*.partial")),
        "written, not logged": lambda: any(directory.glob("*.asice")),
    }
    hits = []
    for phase, reached in phases.items():
        if _run_and_kill_when(["batches", "create", initiative["id"]], env, reached):
            hits.append(phase)
            state = _state(app)
            assert state["accepted"] == len(SIGNERS)  # nothing answered is lost
            assert state["batches"] == []  # killed before the batch was logged
            _log_verifies(app, tmp_path)
        else:
            break  # the run completed first: the batch exists
    print(f"\nexport SIGKILLed mid-run in phase(s): {hits}")
    assert "writing" in hits, "no kill hit a running export"
    # The service recovers by itself: the next export holds everyone, nothing else is left.
    if not _state(app)["batches"]:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "sigsvc"), "batches", "create", initiative["id"]],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    state = _state(app)
    assert [row[2] for row in state["batches"]] == [len(SIGNERS)]
    assert len(state["batched"]) == len(SIGNERS)
    (batch_id,) = {row[0] for row in state["batches"]}
    assert all(b == batch_id for _sid, b in state["batched"])
    assert [p.name for p in directory.iterdir()] == [
        Path(conn_path).name for conn_path in _artefacts(app)
    ]
    _log_verifies(app, tmp_path)


def _artefacts(app: Flask) -> list[str]:
    with db.engine_of(app).connect() as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT artefact_path FROM batches"))]


RECORDS = 3000  # three erase transactions (retention.CHUNK): a purge long enough to catch


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigkill_during_retention(app, receiver, tmp_path):
    """Killed while records are being erased, then after the batch file is deleted but before
    `data.purged` is logged: the batch stays acknowledged (the next run erases again), the log
    verifies, and the next run completes: all records erased, the file gone, the purge logged."""
    intake = services.get(app)
    initiative = seed_exportable(app, RECORDS, registration="FAULT-RETENTION")
    made = batches.export(app, intake, initiative, intake.clock())
    done = handover.push(
        app, intake, made["id"], policy=handover.PushPolicy(attempts=3, base_delay=0.01)
    )
    assert done["status"] == "acknowledged"
    (artefact,) = (Path(p) for p in _artefacts(app))
    env = _env(app, SIGSVC_TEST_ALLOW_NOW="1")
    purge = ["retention", "purge", "--now", "2099-01-01T00:00:00Z"]
    engine = db.engine_of(app)

    def erased() -> tuple[str, int]:
        with engine.connect() as conn:
            status = conn.scalar(sa.text("SELECT status FROM batches"))
            count = conn.scalar(
                sa.text("SELECT count(*) FROM signatures WHERE personal_code_enc = :e"),
                {"e": b""},
            )
        return str(status), int(count or 0)

    phases = {
        "erasing": lambda: 0 < erased()[1] < RECORDS,
        "file deleted, not logged": lambda: not artefact.exists(),
    }
    hits = []
    for phase, reached in phases.items():
        if not _run_and_kill_when(purge, env, reached):
            break
        hits.append(phase)
        status, count = erased()
        assert status == "acknowledged" and 0 < count <= RECORDS, (phase, status, count)
        _log_verifies(app, tmp_path)
    print(f"\npurge SIGKILLed mid-run in phase(s): {hits}")
    assert "erasing" in hits, "no kill hit a running purge"
    sigsvc = str(Path(sys.executable).parent / "sigsvc")
    final = subprocess.run([sigsvc, *purge], env=env, capture_output=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert erased() == ("purged", RECORDS)
    assert not artefact.exists()  # the file with personal data is gone too
    _log_verifies(app, tmp_path)
