"""The backup runbook as a test (docs/deployment.md): `pg_dump` while the service takes
signatures, `pg_restore` into a fresh database, the restored log has the same root at the
dumped size, and a service on the restored database keeps appending to the same log."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from audit import merkle
from audit.cli import main as sigaudit
from audit.verify import read_checkpoint_note
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.app import create_app
from sigsvc.log.storage import SqlLogStorage
from tests.conftest import _free_port, _pg_bindir, wait_ready
from tests.signatures.conftest import intake_settings, settings_env

pytestmark = pytest.mark.postgres
ADMIN = "restore-drill-admin-token-0123456789abcdef"


def _tool(name: str) -> str:
    bindir = _pg_bindir()
    found = str(bindir / name) if bindir and (bindir / name).exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found (Debian package postgresql-client)")
    return found


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "sigsvc"), "serve", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", server)
    except AssertionError:
        os.killpg(server.pid, signal.SIGKILL)
        raise
    return server


def _stop(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=60)


def _post(base: str, initiative: dict[str, str], body: bytes) -> int:
    return requests.post(
        f"{base}/v1/initiatives/{initiative['id']}/signatures",
        data=body,
        headers={
            "Authorization": f"Bearer {initiative['key']}",
            "Content-Type": "application/vnd.etsi.asic-e+zip",
            "Idempotency-Key": uuid.uuid4().hex,
        },
        timeout=60,
    ).status_code


def test_dump_under_load_restore_same_root_keeps_appending(
    postgres_server, tmp_path, container, responders
):
    name = f"drill_{uuid.uuid4().hex[:8]}"
    source = postgres_server.create_database(f"{name}_src")
    restored = postgres_server.create_database(f"{name}_dst")
    try:
        db.upgrade(source)
        settings = intake_settings(tmp_path, CHECKPOINT_INTERVAL=1)
        app = create_app({"DATABASE_URL": source, **settings}, instance_path=str(tmp_path))
        with db.session_scope(app) as session:
            created = registry.register_initiative(
                session,
                services.log_service(app),
                registry.NewInitiative(
                    regime=Regime.ART22_BILL,
                    registration_number="DRILL-2026/1",
                    title="Grozījumi Testa likumā",
                    full_text=TEST_INITIATIVE_TEXT.decode(),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 12, 31),
                ),
            )
            _, key = credentials.create_platform(
                session, services.log_service(app), "drill-platform", [created.id]
            )
        initiative = {"id": str(created.id), "key": key}
        services.close(app)
        db.engine_of(app).dispose()

        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
        env.update(settings_env(settings))
        env.update({"SIGSVC_ADMIN_TOKEN": ADMIN, "SIGSVC_LOG_LEVEL": "WARNING"})
        bodies = [container(s) for s in ("valid_rsa", "valid_p384", "revoked", "untrusted")]
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = _serve({**env, "DATABASE_URL": source}, port)
        stop, sent = threading.Event(), itertools.count()
        dump = tmp_path / "sigsvc.dump"

        def load() -> None:
            while not stop.is_set():
                _post(base, initiative, bodies[next(sent) % len(bodies)])

        threads = [threading.Thread(target=load) for _ in range(3)]
        try:
            for t in threads:
                t.start()
            time.sleep(2.0)
            url = sa.make_url(source)
            subprocess.run(  # the runbook's command, while the load runs
                [_tool("pg_dump"), "-h", str(url.host), "-p", str(url.port), "-U",
                 str(url.username), "-Fc", "-f", str(dump), str(url.database)],
                check=True, capture_output=True, timeout=300,
            )  # fmt: skip
            time.sleep(1.0)  # the load goes on after the dump
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
            _stop(server)
        assert next(sent) > 8

        url = sa.make_url(restored)
        subprocess.run(
            [_tool("pg_restore"), "-h", str(url.host), "-p", str(url.port), "-U",
             str(url.username), "-d", str(url.database), "--no-owner", str(dump)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip

        engines = {k: sa.create_engine(sa.make_url(u).set(drivername="postgresql+psycopg"))
                   for k, u in (("src", source), ("dst", restored))}  # fmt: skip
        sessions = {k: sa.orm.Session(e) for k, e in engines.items()}
        try:
            src, dst = (SqlLogStorage(sessions[k]) for k in ("src", "dst"))
            assert 0 < dst.size() < src.size()  # a snapshot taken mid-load
            size, note = dst.latest_checkpoint()
            # Same log: the restored checkpoint is one the source signed, and the restored
            # entries hash to its root.
            assert (size, note) in list(src.checkpoints())
            root = merkle.root(merkle.leaf_hash(d) for d in dst.entries(0, size))
            assert root == read_checkpoint_note(note, "restored").root
            leaves = merkle.root(merkle.leaf_hash(d) for d in src.entries(0, size))
            assert leaves == root
        finally:
            for s in sessions.values():
                s.close()
            for e in engines.values():
                e.dispose()
        (tmp_path / "restored.checkpoint").write_bytes(note)

        server = _serve({**env, "DATABASE_URL": restored}, port)
        try:
            for body in bodies:  # already seen persons: DUPLICATE or a rejection, each logged
                assert _post(base, initiative, body) in (201, 409, 422)
            time.sleep(1.1)  # SIGSVC_CHECKPOINT_INTERVAL
            latest = requests.get(f"{base}/checkpoint", timeout=30).content
            vkey = requests.get(f"{base}/readyz", timeout=30).json()["intake"]["log_key"]
            assert read_checkpoint_note(latest, "latest").size >= size + len(bodies)
            assert sigaudit(["verify", base, "--key", vkey, "--quiet", "--trusted-checkpoint",
                             str(tmp_path / "restored.checkpoint")]) == 0  # fmt: skip
        finally:
            _stop(server)
    finally:
        postgres_server.drop_database(f"{name}_src")
        postgres_server.drop_database(f"{name}_dst")
