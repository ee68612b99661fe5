"""Fault (issue 9): a revocation responder that accepts the connection and never answers.

The intake answers 503 REVOCATION_UNAVAILABLE with Retry-After after the fetcher's own limits
(production FetchLimits: 2 s connect, 3 s read, 5 s total per URL), not when the platform gives
up; nothing is remembered under the Idempotency-Key, so the platform's retry with the same key
is verified again and accepted once the responder answers. The service's real fetcher is used;
only the URLs it is asked for are pointed at the hanging socket. The wall time is printed (the
bound asserted is the fetcher's total deadline times the URLs a verification may try).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from sigsvc import services
from sigsvc.intake.fetchers import FetchLimits, crypto_fetcher
from tests.signatures.conftest import post


@pytest.fixture
def hanging() -> Iterator[tuple[str, list[socket.socket]]]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}", held
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


class _ToHanging:
    """A production fetcher (default limits), every URL swapped for the hanging server's."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.inner = crypto_fetcher()

    def ocsp(self, url: str, request_der: bytes) -> bytes:
        return self.inner.ocsp(f"{self.base}/ocsp", request_der)

    def crl(self, url: str) -> bytes:
        return self.inner.crl(f"{self.base}/crl")

    def certificate(self, url: str) -> bytes:
        return self.inner.certificate(f"{self.base}/cert")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_hanging_responder_is_a_retryable_outage_and_the_retry_is_accepted(
    app, client, initiative, container, hanging
):
    body = container("valid_p384", level="T")  # no embedded OCSP: the service must fetch
    base, held = hanging
    intake = services.get(app)
    real = intake.fetcher
    intake.fetcher = _ToHanging(base)  # type: ignore[assignment]
    key = uuid.uuid4().hex
    try:
        start = time.monotonic()
        refused = post(client, initiative, body, key=key)
        elapsed = time.monotonic() - start
    finally:
        intake.fetcher = real
    print(f"\nhanging responder: {refused.status_code} after {elapsed:.1f} s, {len(held)} conn")
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert refused.get_json()["error"]["code"] == "REVOCATION_UNAVAILABLE"
    assert refused.headers["Retry-After"]
    assert held, "the hanging responder was never asked"
    assert elapsed < FetchLimits().total_timeout * 4 + 5  # URLs tried x deadline, not forever

    retried = post(client, initiative, body, key=key)  # the platform's retry, same key
    assert retried.status_code == 201, retried.get_data(as_text=True)
    assert "Idempotent-Replayed" not in retried.headers
