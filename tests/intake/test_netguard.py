"""The fetcher reaches public addresses only (issue 9, SSRF): checked after DNS resolution, the
socket opened to the checked address, no redirect to another host. A listener on 127.0.0.1
proves that a refused URL never gets a connection."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sigsvc.intake import netguard
from sigsvc.intake.fetchers import FetchLimits, FetchUnavailable, HttpFetcher

LIMITS = FetchLimits(connect_timeout=1, read_timeout=1, total_timeout=2)


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012
    redirect_to: str | None = None

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if type(self).redirect_to and self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", type(self).redirect_to)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[int, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"hits": [], "redirect_to": None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "0x7f000001", "127.1", "2130706433", "[::ffff:127.0.0.1]"],
)
def test_loopback_in_any_spelling_is_never_reached(
    listener: tuple[int, type[_Recorder]], host: str
) -> None:
    port, handler = listener
    fetcher = HttpFetcher(limits=LIMITS, allow_private=False)
    with pytest.raises(FetchUnavailable) as refused:
        fetcher.certificate(f"http://{host}:{port}/ca.crt")
    assert refused.value.reason in ("address", "connection")
    assert handler.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not netguard.is_public(address)
    fetcher = HttpFetcher(limits=LIMITS, allow_private=False)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchUnavailable) as refused:
        fetcher.crl(f"http://{host}/x.crl")
    assert refused.value.reason == "address"


@pytest.mark.parametrize("address", ["193.68.32.1", "8.8.8.8", "2001:4860:4860::8888"])
def test_public_addresses_pass_the_check(address: str) -> None:
    assert netguard.is_public(address)
    assert netguard.resolve_public(address, 80) == address


def test_the_test_setting_allows_loopback(listener: tuple[int, type[_Recorder]]) -> None:
    port, handler = listener
    assert netguard.test_setting()  # tests/conftest.py sets it for the test PKI's responders
    assert HttpFetcher(limits=LIMITS).certificate(f"http://127.0.0.1:{port}/ca.crt") == b"ok"
    assert handler.hits == ["/ca.crt"]


def test_no_redirect_to_another_host(listener: tuple[int, type[_Recorder]]) -> None:
    port, handler = listener
    handler.redirect_to = f"http://localhost:{port}/elsewhere"
    fetcher = HttpFetcher(limits=LIMITS, allow_private=True)
    with pytest.raises(FetchUnavailable) as refused:
        fetcher.certificate(f"http://127.0.0.1:{port}/hop")
    assert refused.value.reason == "redirect"
    assert handler.hits == ["/hop"]  # the other host was never asked
    handler.redirect_to = f"http://127.0.0.1:{port}/same-host"
    assert fetcher.certificate(f"http://127.0.0.1:{port}/hop") == b"ok"


def test_only_http_and_https(listener: tuple[int, type[_Recorder]]) -> None:
    fetcher = HttpFetcher(limits=LIMITS, allow_private=True)
    for url in ("ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"):
        with pytest.raises(FetchUnavailable) as refused:
            fetcher.certificate(url)
        assert refused.value.reason == "url"


def test_socket_is_opened_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """One resolution, then a connection to that very address (no rebinding window)."""
    answers = iter(["93.184.216.34", "127.0.0.1"])  # a rebinding resolver's two answers
    real = socket.getaddrinfo

    def rebinding(host: str, port: int, *args: object, **kwargs: object) -> object:
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connected: list[tuple[str, int]] = []

    def fake_connect(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        connected.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr("urllib3.util.connection.create_connection", fake_connect)
    fetcher = HttpFetcher(limits=LIMITS, allow_private=False)
    with pytest.raises(FetchUnavailable):
        fetcher.certificate("http://rebind.example/ca.crt")
    assert connected == [("93.184.216.34", 80)]
