"""`sigsvc demo-run` as deployed: gunicorn on 127.0.0.1, seeded demo, clean stop on SIGINT."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import wait_ready


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_env(path: Path) -> dict[str, str]:
    pairs = (shlex.split(line)[-1].split("=", 1) for line in path.read_text().splitlines())
    return dict(pairs)


def _start_demo(instance: Path, port: int, **popen: Any) -> subprocess.Popen[str]:
    """`sigsvc demo-run` on `port` with one worker, its instance at `instance`, nothing of this
    environment's SIGSVC_ settings passed on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env["SIGSVC_INSTANCE_PATH"] = str(instance)
    sigsvc = Path(sys.executable).parent / "sigsvc"
    return subprocess.Popen(
        [str(sigsvc), "demo-run", "--port", str(port), "--workers", "1"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        **popen,
    )


def test_demo_run_serves_with_gunicorn_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    server = _start_demo(tmp_path / "instance", port, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server, "demo server")
        values = _read_env(tmp_path / "instance" / "demo.env")
        form = requests.get(
            f"{base}/v1/initiatives/{values['INITIATIVE_ID']}/form",
            params={
                "given_name": "Jānis",
                "surname": "Bērziņš",
                "personal_code": "321234-56789",
                "date": "2026-12-01",
            },
            headers={"Authorization": f"Bearer {values['PLATFORM_KEY']}"},
            timeout=10,
        )
        assert form.status_code == 200
        assert form.text.startswith("Paraksta veidlapa: v1\n")
        pages = ["/", f"/initiatives/{values['INITIATIVE_ID']}", "/log", "/receipt", "/console/"]
        for page in pages:  # the pages `make run` prints (issue 16)
            assert requests.get(f"{base}{page}", timeout=10).status_code == 200, page
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert values["ADMIN_TOKEN"] in out
    assert f"{base}/receipt" in out and f"{base}/console/" in out
    for line in err.splitlines():
        record = json.loads(line)
        assert "request_id" in record
        assert "321234-56789" not in line and "Bērziņš" not in line
    assert any(json.loads(line).get("route") for line in err.splitlines())


def _demo_run(instance: Path, port: int) -> tuple[str, dict[str, str]]:
    """One `sigsvc demo-run` until its demo flow is done, stopped with Ctrl-C: (stdout, env)."""
    server = _start_demo(instance, port, stderr=subprocess.DEVNULL, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in server.stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 240
    try:
        while not any("demo done" in line for line in seen):
            assert time.monotonic() < deadline and server.poll() is None, "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=1))
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
        server.stdout.close()  # type: ignore[union-attr]
    return "".join(seen), _read_env(instance / "demo.env")


BATCH = re.compile(
    r'\n201 \{"id": "([0-9a-f-]{36})", "sequence": \d+, "count": 1, "status": "created"\}'
)


def test_a_second_make_run_shows_a_whole_new_round(tmp_path):
    """On an already-seeded database the demo does it all again: a new round's initiative, new
    signatures accepted, a new sealed batch, a receipt, and the log proven to have only grown
    since the first run's checkpoint (sigaudit consistency)."""
    instance = tmp_path / "instance"
    first, first_env = _demo_run(instance, _free_port())
    assert "first run: kept as" in first
    assert first.count('"status": "accepted"') == 2  # two signatures accepted
    assert "OK    entry " in first  # the receipt verified
    (first_batch,) = BATCH.findall(first)
    first_checkpoint = (instance / "demo" / "checkpoint").read_text()

    second, second_env = _demo_run(instance, _free_port())
    assert second_env["INITIATIVE_ID"] != first_env["INITIATIVE_ID"]  # a new round
    assert "DEMO-2026/1-2" in second
    assert second.count('"status": "accepted"') == 2
    (second_batch,) = BATCH.findall(second)
    assert second_batch != first_batch
    for run in (first, second):  # each pushed to the reference receiver and acknowledged
        assert '{"status": "acknowledged"' in run.split("$ sigsvc batches push", 1)[1]
    assert "OK    entry " in second
    old_size = int(first_checkpoint.splitlines()[1])
    new_size = int((instance / "demo" / "checkpoint").read_text().splitlines()[1])
    assert new_size > old_size
    assert f"size {new_size} is consistent with size {old_size}" in second
    assert (instance / "demo" / "checkpoint.previous").read_text() == first_checkpoint
