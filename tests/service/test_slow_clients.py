"""The production serve (gunicorn + sigsvc.web.serve.BufferingWorker) against slow clients.

50 connections that send their headers or body a few bytes at a time must not keep a valid
request from being answered (issue 9: 8 such connections stopped the gthread serve). The time
the valid request took is printed (speed is make bench territory, not asserted); the request
has a 10 s client timeout, so a blocked service fails the test. `sigsvc demo-run` serves through
the same `sigsvc.web.serve.run` as `sigsvc serve`.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import _free_port as free_port
from tests.conftest import wait_ready
from tests.service.conftest import VALID_INITIATIVE


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("slow")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env["SIGSVC_INSTANCE_PATH"] = str(tmp / "instance")
    env["SIGSVC_REQUEST_BODY_TIMEOUT"] = "8"  # the 408 test waits this long
    sigsvc = Path(sys.executable).parent / "sigsvc"
    server = subprocess.Popen(
        [str(sigsvc), "demo-run", "--port", str(port), "--workers", "1"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        lines = (tmp / "instance" / "demo.env").read_text().splitlines()
        values = dict(shlex.split(line)[-1].split("=", 1) for line in lines if "=" in line)
        yield base, values
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)


def _slow_connections(base: str, count: int) -> list[socket.socket]:
    host, port = base.removeprefix("http://").split(":")
    held = []
    for i in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        if i % 2:  # headers never finished
            sock.sendall(b"POST /v1/initiatives HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        else:  # headers complete, body trickles
            sock.sendall(
                b"POST /v1/initiatives HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
        held.append(sock)
    return held


def _still_open(sock: socket.socket) -> bool:
    """Neither answered nor closed by the server (a read would block)."""
    sock.setblocking(False)
    try:
        return not sock.recv(1)  # b"": closed; data: answered
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def test_slow_clients_do_not_stop_a_valid_post(served: tuple[str, dict[str, str]]) -> None:
    base, values = served
    held = _slow_connections(base, 50)
    try:
        for sock in held:  # one more byte each: they are alive, just slow
            sock.sendall(b" ")
        start = time.monotonic()
        created = requests.post(
            f"{base}/v1/initiatives",
            json={**VALID_INITIATIVE, "registration_number": "SLOW/1"},
            headers={"Authorization": f"Bearer {values['ADMIN_TOKEN']}"},
            timeout=10,
        )
        elapsed = time.monotonic() - start
        open_meanwhile = sum(_still_open(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()
    print(f"\nvalid POST beside 50 slow connections answered in {elapsed * 1000:.0f} ms")
    assert open_meanwhile == 50  # they were all still held while the POST was answered
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["registration_number"] == "SLOW/1"
    assert body["title"] == VALID_INITIATIVE["title"]


def test_a_body_that_never_completes_gets_408(served: tuple[str, dict[str, str]]) -> None:
    base, _values = served
    (sock,) = _slow_connections(base, 1)
    with sock:
        sock.settimeout(15)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"REQUEST_TIMEOUT"' in answer
