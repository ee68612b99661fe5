"""The HTTP fetcher against a real HTTP server on 127.0.0.1 started by the test."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from sigsvc.intake.fetchers import CachePolicy, FetchLimits, FetchUnavailable, HttpFetcher

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _pki() -> tuple[x509.Certificate, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(T0 - timedelta(days=1))
        .not_valid_after(T0 + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Signer")]))
        .issuer_name(name)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(2)
        .not_valid_before(T0 - timedelta(days=1))
        .not_valid_after(T0 + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return ca, leaf, key


CA, LEAF, CA_KEY = _pki()
NEXT_UPDATE = T0 + timedelta(seconds=120)
OCSP_REQUEST = (
    ocsp.OCSPRequestBuilder().add_certificate(LEAF, CA, hashes.SHA256()).build()
).public_bytes(serialization.Encoding.DER)
OCSP_GOOD = (
    ocsp.OCSPResponseBuilder()
    .add_response(LEAF, CA, hashes.SHA256(), ocsp.OCSPCertStatus.GOOD, T0, NEXT_UPDATE, None, None)
    .responder_id(ocsp.OCSPResponderEncoding.HASH, CA)
    .sign(CA_KEY, hashes.SHA256())
    .public_bytes(serialization.Encoding.DER)
)
OCSP_NO_NEXT_UPDATE = (
    ocsp.OCSPResponseBuilder()
    .add_response(LEAF, CA, hashes.SHA256(), ocsp.OCSPCertStatus.GOOD, T0, None, None, None)
    .responder_id(ocsp.OCSPResponderEncoding.HASH, CA)
    .sign(CA_KEY, hashes.SHA256())
    .public_bytes(serialization.Encoding.DER)
)
OCSP_TRY_LATER = ocsp.OCSPResponseBuilder.build_unsuccessful(
    ocsp.OCSPResponseStatus.TRY_LATER
).public_bytes(serialization.Encoding.DER)
CRL = (
    x509.CertificateRevocationListBuilder()
    .issuer_name(CA.subject)
    .last_update(T0)
    .next_update(NEXT_UPDATE)
    .sign(CA_KEY, hashes.SHA256())
    .public_bytes(serialization.Encoding.DER)
)
CERT = CA.public_bytes(serialization.Encoding.DER)


class Server:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.posted: list[tuple[str, bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                self.send_header("Content-Length", headers.pop("length", str(len(body))))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self.path = self.path.split("?")[0]
                server.hits[self.path] += 1
                if self.path == "/ca.crl":
                    self._send(200, CRL)
                elif self.path == "/ca.crt":
                    self._send(200, CERT)
                elif self.path == "/slow":
                    time.sleep(1.0)
                    self._send(200, CERT)
                elif self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    for _ in range(100):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
                elif self.path == "/error":
                    self._send(500, b"oops")
                elif self.path == "/big":
                    self._send(200, b"x" * 200_000)
                elif self.path == "/big-undeclared":
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"x" * 200_000)
                    self.close_connection = True
                elif self.path == "/short":
                    self._send(200, b"abc", length="1000")
                    self.close_connection = True
                elif self.path == "/gzip":
                    self._send(200, b"\x1f\x8b", Content_Encoding="gzip")
                elif self.path == "/to-ftp":
                    self._send(302, b"", Location="ftp://127.0.0.1/ca.crt")
                elif self.path == "/to-file":
                    self._send(302, b"", Location="file:///etc/passwd")
                elif self.path == "/to-cert":
                    self._send(302, b"", Location="/ca.crt")
                elif self.path == "/loop":
                    self._send(302, b"", Location="/loop")
                else:
                    self._send(404, b"")

            def do_POST(self) -> None:
                server.hits[self.path] += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.posted.append((self.headers["Content-Type"], body))
                if self.path == "/ocsp":
                    self._send(200, OCSP_GOOD, Content_Type="application/ocsp-response")
                elif self.path == "/ocsp-live":
                    self._send(200, OCSP_NO_NEXT_UPDATE, Content_Type="application/ocsp-response")
                elif self.path == "/ocsp-busy":
                    self._send(200, OCSP_TRY_LATER, Content_Type="application/ocsp-response")
                elif self.path == "/ocsp-moved":
                    self._send(307, b"", Location="/ocsp")
                else:
                    self._send(404, b"")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


LIMITS = FetchLimits(
    connect_timeout=1.0, read_timeout=0.3, total_timeout=1.0, max_certificate_bytes=100_000
)


def make(clock: FakeClock | None = None, policy: CachePolicy | None = None) -> HttpFetcher:
    return HttpFetcher(limits=LIMITS, cache=policy, clock=clock or FakeClock(T0))


def test_certificate_and_crl_success(server: Server) -> None:
    fetcher = make()
    assert fetcher.certificate(server.base + "/ca.crt") == CERT
    assert fetcher.crl(server.base + "/ca.crl") == CRL


def test_ocsp_posts_der_with_content_type(server: Server) -> None:
    assert make().ocsp(server.base + "/ocsp", OCSP_REQUEST) == OCSP_GOOD
    assert server.posted[-1] == ("application/ocsp-request", OCSP_REQUEST)


def test_crl_cache_hit_until_next_update(server: Server) -> None:
    clock = FakeClock(T0)
    fetcher = make(clock, CachePolicy(crl_max_age=3600))
    before = server.hits["/ca.crl"]
    fetcher.crl(server.base + "/ca.crl")
    clock.now += 119  # nextUpdate is T0 + 120 s
    fetcher.crl(server.base + "/ca.crl")
    assert server.hits["/ca.crl"] == before + 1
    clock.now += 1
    assert fetcher.crl(server.base + "/ca.crl") == CRL
    assert server.hits["/ca.crl"] == before + 2


def test_crl_cache_capped_by_max_age(server: Server) -> None:
    clock = FakeClock(T0)
    fetcher = make(clock, CachePolicy(crl_max_age=10))
    before = server.hits["/ca.crl"]
    fetcher.crl(server.base + "/ca.crl")
    clock.now += 10
    fetcher.crl(server.base + "/ca.crl")
    assert server.hits["/ca.crl"] == before + 2


def test_ocsp_cached_per_request_until_next_update(server: Server) -> None:
    clock = FakeClock(T0)
    fetcher = make(clock, CachePolicy(ocsp_max_age=300))
    before = server.hits["/ocsp"]
    fetcher.ocsp(server.base + "/ocsp", OCSP_REQUEST)
    fetcher.ocsp(server.base + "/ocsp", OCSP_REQUEST)
    assert server.hits["/ocsp"] == before + 1
    fetcher.ocsp(server.base + "/ocsp", OCSP_REQUEST + b"\x00")  # another request: not cached
    assert server.hits["/ocsp"] == before + 2
    clock.now += 120
    fetcher.ocsp(server.base + "/ocsp", OCSP_REQUEST)
    assert server.hits["/ocsp"] == before + 3


def test_unsuccessful_ocsp_response_is_returned_but_not_cached(server: Server) -> None:
    fetcher = make()
    before = server.hits["/ocsp-busy"]
    assert fetcher.ocsp(server.base + "/ocsp-busy", OCSP_REQUEST) == OCSP_TRY_LATER
    fetcher.ocsp(server.base + "/ocsp-busy", OCSP_REQUEST)
    assert server.hits["/ocsp-busy"] == before + 2


def test_ocsp_response_without_next_update_is_not_cached(server: Server) -> None:
    # RFC 6960 §4.2.2.1: no nextUpdate means newer information is always available.
    fetcher = make()
    before = server.hits["/ocsp-live"]
    for _ in range(2):
        assert fetcher.ocsp(server.base + "/ocsp-live", OCSP_REQUEST) == OCSP_NO_NEXT_UPDATE
    assert server.hits["/ocsp-live"] == before + 2


def test_past_next_update_is_not_cached(server: Server) -> None:
    fetcher = make(FakeClock(NEXT_UPDATE + timedelta(seconds=1)))
    before = server.hits["/ca.crl"]
    fetcher.crl(server.base + "/ca.crl")
    fetcher.crl(server.base + "/ca.crl")
    assert server.hits["/ca.crl"] == before + 2


def test_certificate_cache_hit(server: Server) -> None:
    fetcher = make(FakeClock(T0))
    before = server.hits["/ca.crt"]
    for _ in range(3):
        assert fetcher.certificate(server.base + "/ca.crt") == CERT
    assert server.hits["/ca.crt"] == before + 1


def test_failures_are_not_cached(server: Server) -> None:
    fetcher = make()
    before = server.hits["/error"]
    for _ in range(2):
        with pytest.raises(FetchUnavailable):
            fetcher.crl(server.base + "/error")
    assert server.hits["/error"] == before + 2


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/error", "status"),
        ("/missing", "status"),
        ("/big", "too_large"),
        ("/big-undeclared", "too_large"),
        ("/short", "connection"),
        ("/gzip", "encoding"),
        ("/to-ftp", "url"),
        ("/to-file", "url"),
        ("/loop", "redirects"),
        ("/slow", "timeout"),
    ],
)
def test_get_failures_are_typed(server: Server, path: str, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchUnavailable) as info:
        make().certificate(server.base + path)
    assert info.value.reason == reason
    assert info.value.url == server.base + path
    assert time.monotonic() - started < 1.0


def test_slow_drip_body_hits_total_deadline(server: Server) -> None:
    # Every byte arrives within the read timeout; only the total deadline stops it.
    started = time.monotonic()
    with pytest.raises(FetchUnavailable) as info:
        make().certificate(server.base + "/drip")
    assert info.value.reason == "timeout"
    assert 1.0 <= time.monotonic() - started < 2.0


def test_redirect_within_http_is_followed_for_get(server: Server) -> None:
    assert make().certificate(server.base + "/to-cert") == CERT


def test_post_is_never_redirected(server: Server) -> None:
    with pytest.raises(FetchUnavailable) as info:
        make().ocsp(server.base + "/ocsp-moved", OCSP_REQUEST)
    assert info.value.reason == "status"


def test_connection_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with pytest.raises(FetchUnavailable) as info:
        make().ocsp(f"http://127.0.0.1:{port}/ocsp", OCSP_REQUEST)
    assert info.value.reason == "connection"


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x.crl", "file:///etc/passwd", "ldap://h/x", "http:///nohost", "x"]
)
def test_non_http_urls_are_refused_without_io(url: str) -> None:
    with pytest.raises(FetchUnavailable) as info:
        make().crl(url)
    assert info.value.reason == "url"


def test_cache_is_bounded(server: Server) -> None:
    fetcher = make(policy=CachePolicy(max_entries=2))
    before = server.hits["/ca.crt"]
    for n in range(3):
        fetcher.certificate(f"{server.base}/ca.crt?n={n}")
    fetcher.certificate(f"{server.base}/ca.crt?n=2")  # newest kept
    assert server.hits["/ca.crt"] == before + 3
    fetcher.certificate(f"{server.base}/ca.crt?n=0")  # oldest evicted
    assert server.hits["/ca.crt"] == before + 4


class CryptoFetchError(Exception):
    """Stands in for crypto.FetchError, the type crypto/ catches."""


def test_translate_maps_every_failure_to_the_callers_type(server: Server) -> None:
    fetcher = HttpFetcher(limits=LIMITS, translate=lambda e: CryptoFetchError(str(e)))
    with pytest.raises(CryptoFetchError) as info:
        fetcher.crl(server.base + "/error")
    assert isinstance(info.value.__cause__, FetchUnavailable)
    with pytest.raises(CryptoFetchError):
        fetcher.certificate("ftp://127.0.0.1/x")
    with pytest.raises(CryptoFetchError):
        fetcher.ocsp(server.base + "/missing", OCSP_REQUEST)
    assert fetcher.certificate(server.base + "/ca.crt") == CERT


def test_cache_is_bounded_in_bytes(server: Server) -> None:
    fetcher = make(policy=CachePolicy(max_bytes=len(CERT) * 2))
    before = server.hits["/ca.crt"]
    for n in range(3):
        fetcher.certificate(f"{server.base}/ca.crt?n={n}")
    fetcher.certificate(f"{server.base}/ca.crt?n=2")  # kept
    fetcher.certificate(f"{server.base}/ca.crt?n=1")  # kept
    assert server.hits["/ca.crt"] == before + 3
    fetcher.certificate(f"{server.base}/ca.crt?n=0")  # evicted to stay within max_bytes
    assert server.hits["/ca.crt"] == before + 4


def test_body_larger_than_the_cache_is_served_uncached(server: Server) -> None:
    fetcher = make(policy=CachePolicy(max_bytes=len(CERT) - 1))
    before = server.hits["/ca.crt"]
    for _ in range(2):
        assert fetcher.certificate(server.base + "/ca.crt") == CERT
    assert server.hits["/ca.crt"] == before + 2
