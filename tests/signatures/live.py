"""Helpers for intake tests against real gunicorn servers: start one, post, check the log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask

from audit import cli as sigaudit
from audit.events import parse_leaf
from certification.testpki import TEST_INITIATIVE
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto.form import InitiativeFields, Regime
from sigsvc import credentials, db, registry, services
from tests.conftest import wait_ready
from tests.signatures.conftest import settings_env

SETTINGS = (
    "INTAKE_KEYS",
    "LOG_KEY_FILE",
    "LOG_ORIGIN",
    "TRUSTED_LISTS",
    "TL_SIGNERS",
    "TEST_CLOCK",
    "CHECKPOINT_INTERVAL",
    "RATE_PLATFORM",
    "RATE_SIGNER",
)
ACCEPTING = ("valid_p384", "valid_rsa", "no_prefix")  # three people the test PKI accepts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gunicorn(app: Flask, database_url: str, port: int, workers: int = 2) -> subprocess.Popen:
    """A gunicorn master with `workers` workers serving the app's intake settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(settings_env({k: app.config[k] for k in SETTINGS}))
    env["DATABASE_URL"] = database_url
    env["SIGSVC_LOG_LEVEL"] = "WARNING"
    code = f"from sigsvc.web.serve import run_gunicorn; run_gunicorn('127.0.0.1:{port}', {workers})"
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL reaches master and workers
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, "gunicorn")
    except AssertionError:
        os.killpg(server.pid, signal.SIGKILL)
        raise
    return server


def stop(server: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    os.killpg(server.pid, sig)
    server.wait(timeout=30)


def post(base: str, initiative_id: str, key: str, body: bytes, idem: str) -> requests.Response:
    return requests.post(
        f"{base}/v1/initiatives/{initiative_id}/signatures",
        data=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/vnd.etsi.asic-e+zip",
            "Idempotency-Key": idem,
        },
        timeout=60,
    )


@dataclass(frozen=True)
class Initiatives:
    ids: list[str]
    fields: list[InitiativeFields]  # what each initiative's form says (sign with these)
    key: str  # one platform's key, valid for all of them


def register_initiatives(app: Flask, n: int) -> Initiatives:
    """`n` initiatives like the test PKI's TEST_INITIATIVE (own registration numbers)."""
    fields = [replace(TEST_INITIATIVE, registration_number=f"LIVE-2026/{i}") for i in range(n)]
    with db.session_scope(app) as session:
        ids = [
            registry.register_initiative(
                session,
                services.log_service(app),
                registry.NewInitiative(
                    regime=Regime.ART22_BILL,
                    registration_number=f.registration_number,
                    title=f.title,
                    full_text=TEST_INITIATIVE_TEXT.decode(),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 12, 31),
                ),
            ).id
            for f in fields
        ]
        _, key = credentials.create_platform(
            session, services.log_service(app), f"live-{uuid.uuid4().hex[:8]}", ids
        )
    return Initiatives([str(i) for i in ids], fields, key)


def check_log(app: Flask) -> dict[str, Any]:
    """The database's log is dense and each record has exactly its own leaf; returns counts."""
    with db.engine_of(app).connect() as conn:
        size = conn.scalar(sa.text("SELECT size FROM audit_log_head"))
        entries = conn.execute(
            sa.text("SELECT idx, data FROM audit_log_entries ORDER BY idx")
        ).all()
        distinct = conn.scalar(sa.text("SELECT count(DISTINCT leaf_hash) FROM audit_log_entries"))
        sigs = conn.execute(sa.text("SELECT id, leaf_index, initiative_id FROM signatures")).all()
        rejections = conn.scalar(sa.text("SELECT count(*) FROM signature_rejections"))
    assert size == len(entries) == distinct
    assert [row[0] for row in entries] == list(range(size))
    by_index = {row[0]: parse_leaf(bytes(row[1])) for row in entries}
    for sid, index, _ in sigs:  # every record has its leaf, and every leaf its record
        event = by_index[index]
        assert event.type == "signature.accepted"
        assert event.fields["signature"] == str(uuid.UUID(str(sid)))
    kinds = [e.type for e in by_index.values()]
    assert kinds.count("signature.accepted") == len(sigs)
    assert kinds.count("signature.rejected") == rejections
    per_initiative: dict[str, int] = {}
    for _, _, iid in sigs:
        per_initiative[str(uuid.UUID(str(iid)))] = (
            per_initiative.get(str(uuid.UUID(str(iid))), 0) + 1
        )
    return {"size": size, "accepted": len(sigs), "per_initiative": per_initiative}


def sigaudit_verify(base: str, tmp_path: Path) -> int:
    """`sigaudit verify` of the server's full log export (after a fresh checkpoint)."""
    assert requests.get(f"{base}/v1/log/checkpoint", timeout=30).status_code == 200
    export = requests.get(f"{base}/v1/log/export", timeout=60)
    vkey = requests.get(f"{base}/readyz", timeout=10).json()["intake"]["log_key"]
    path = tmp_path / "log.tar"
    path.write_bytes(export.content)
    return sigaudit.main(["verify", str(path), "--key", vkey, "--quiet"])
