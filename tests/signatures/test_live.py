"""Intake against real servers on 127.0.0.1: concurrent duplicates, and SIGKILL mid-request."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

from audit import cli as sigaudit
from audit.events import parse_leaf
from sigsvc import db
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


def _post(base: str, initiative: dict, body: bytes, key: str) -> requests.Response:
    return requests.post(
        f"{base}/v1/initiatives/{initiative['id']}/signatures",
        data=body,
        headers={
            "Authorization": f"Bearer {initiative['key']}",
            "Content-Type": "application/vnd.etsi.asic-e+zip",
            "Idempotency-Key": key,
        },
        timeout=30,
    )


def test_concurrent_posts_of_one_person_exactly_one_wins(app, database_url, initiative, container):
    """Two gunicorn workers x 4 threads; the same person posts 4 times at once."""
    bodies = [container("valid_rsa"), container("valid_rsa", digest="sha384")] * 2
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_gunicorn(database_url, {k: app.config[k] for k in SETTINGS}, port)
    try:
        for _round in range(2):
            barrier = threading.Barrier(len(bodies))

            def send(body: bytes, barrier: threading.Barrier = barrier) -> tuple[int, str]:
                barrier.wait()
                response = _post(base, initiative, body, uuid.uuid4().hex)
                return response.status_code, response.text

            with ThreadPoolExecutor(len(bodies)) as pool:
                answers = sorted(pool.map(send, bodies))
            statuses = [status for status, _ in answers]
            expected = [201, 409, 409, 409] if _round == 0 else [409] * 4
            assert statuses == expected, answers
        counts = requests.get(f"{base}/v1/public/initiatives/{initiative['id']}", timeout=10)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert counts.json()["counts"]["accepted"] == 1
    assert counts.json()["counts"]["rejected_by_reason"] == {"DUPLICATE": 7}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_gunicorn(database_url: str, settings: dict, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(settings_env(settings))
    env["DATABASE_URL"] = database_url
    env["SIGSVC_LOG_LEVEL"] = "WARNING"
    code = f"from sigsvc.web.serve import run_gunicorn; run_gunicorn('127.0.0.1:{port}', 2)"
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: SIGKILL reaches master and workers
    )
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(server.pid, signal.SIGKILL)
    raise AssertionError("gunicorn did not become ready")


def test_sigkill_mid_request_leaves_no_half_written_signature(
    app, database_url, initiative, container, tmp_path, capsys
):
    settings = {
        k: app.config[k]
        for k in (
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
    }
    bodies = [
        container(s) for s in ("valid_p384", "valid_rsa", "no_prefix", "revoked", "untrusted")
    ]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_gunicorn(database_url, settings, port)
    sent: list[tuple[str, bytes]] = []
    stop = threading.Event()
    counter = itertools.count()

    def hammer() -> None:
        while not stop.is_set():
            n = next(counter)
            key, body = f"k{n}", bodies[n % len(bodies)]
            sent.append((key, body))
            try:
                _post(base, initiative, body, key)
            except requests.RequestException:
                return

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    # Mid-burst by deadline, not by a fixed sleep: cold workers on a loaded machine may need
    # more than a second for their first answers (each thread has sent one more than answered).
    deadline = time.monotonic() + 60
    while len(sent) < len(threads) + 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(server.pid, signal.SIGKILL)  # master and workers, mid-request
    server.wait(timeout=10)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(sent) > 6

    server = _start_gunicorn(database_url, settings, port)
    try:
        # Retrying every request with its key: answers are replays or fresh, never a 5xx.
        for key, body in sent:
            assert _post(base, initiative, body, key).status_code in (201, 409, 422)
        engine = db.engine_of(app)
        with engine.connect() as conn:
            size = conn.scalar(sa.text("SELECT size FROM audit_log_head"))
            entries = conn.execute(
                sa.text("SELECT idx, data FROM audit_log_entries ORDER BY idx")
            ).all()
            leaves = conn.scalar(sa.text("SELECT count(DISTINCT leaf_hash) FROM audit_log_entries"))
            sigs = conn.execute(sa.text("SELECT id, leaf_index FROM signatures")).all()
            rejections = conn.scalar(sa.text("SELECT count(*) FROM signature_rejections"))
        assert size == len(entries) == leaves
        assert [row[0] for row in entries] == list(range(size))
        by_index = {row[0]: parse_leaf(bytes(row[1])) for row in entries}
        for sid, index in sigs:  # every record has its leaf, and every leaf its record
            event = by_index[index]
            assert event.type == "signature.accepted"
            assert event.fields["signature"] == str(uuid.UUID(str(sid)))
        kinds = [e.type for e in by_index.values()]
        assert kinds.count("signature.accepted") == len(sigs) == 3
        assert kinds.count("signature.rejected") == rejections
        assert requests.get(f"{base}/v1/log/checkpoint", timeout=10).status_code == 200
        export = requests.get(f"{base}/v1/log/export", timeout=30)
        vkey = requests.get(f"{base}/readyz", timeout=10).json()["intake"]["log_key"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    path = Path(tmp_path) / "log.tar"
    path.write_bytes(export.content)
    capsys.readouterr()
    assert sigaudit.main(["verify", str(path), "--key", vkey, "--quiet"]) == 0
