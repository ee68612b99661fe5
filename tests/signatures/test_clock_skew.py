"""CONFORMANCE C28, service side: the server compares its clock with the Date of the answers it
fetches (OCSP/CRL/certificates, the batch TSA); beyond SIGSVC_CLOCK_SKEW_TOLERANCE /readyz is
503 naming the host and the skew, and /metrics shows the last measured skew. A real HTTP server
on 127.0.0.1 answers with a Date header as far off as each case needs."""

from __future__ import annotations

import email.utils
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from sigsvc import clockskew
from sigsvc.export.evidence import EvidenceError, Tsa
from sigsvc.intake.fetchers import HttpFetcher
from tests.signatures.test_metrics import _scrape, _value


def test_a_measurement_is_the_date_against_the_middle_of_the_request():
    sent = datetime(2026, 12, 4, 22, 0, 0, tzinfo=UTC).timestamp()
    skew = clockskew.measure("Fri, 04 Dec 2026 22:00:10 GMT", sent, sent + 1, "http://tsa.lv/x")
    assert skew == clockskew.Skew(10.0, "tsa.lv", sent + 1)  # +0.5 s: Date is truncated
    assert clockskew.measure(None, sent, sent, "http://a/") is None
    assert clockskew.measure("yesterday", sent, sent, "http://a/") is None
    assert (
        clockskew.measure("Fri, 04 Dec 2026 22:00:10", sent, sent, "http://a/") is None
    )  # no zone


@pytest.fixture
def dated_server() -> Iterator[Callable[[float], str]]:
    """A URL whose answers (200, a few bytes) carry a Date `offset` seconds from now."""
    offset = [0.0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            return email.utils.formatdate(time.time() + offset[0], usegmt=True)

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"\x30\x02\x05\x00")

        do_GET = do_POST = _answer

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def url(seconds: float) -> str:
        offset[0] = seconds
        return f"http://127.0.0.1:{server.server_address[1]}/ca.crt"

    clockskew.reset()
    try:
        yield url
    finally:
        clockskew.reset()  # this process's measurement must not leak into other tests
        server.shutdown()
        server.server_close()


def test_skew_beyond_tolerance_is_flagged(app, client, admin_headers, dated_server):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_data(as_text=True)
    assert ready.get_json()["clock"] == {"tolerance_seconds": 10, "skew_seconds": None}

    # their clock 2 min behind: ours is ahead (a responder on 127.0.0.1: a test-only fetcher)
    HttpFetcher(allow_private=True).certificate(dated_server(-120))
    flagged = client.get("/readyz")
    assert flagged.status_code == 503
    message = flagged.get_json()["error"]["message"]
    assert "ahead of 127.0.0.1's" in message and "SIGSVC_CLOCK_SKEW_TOLERANCE=10" in message
    samples = _scrape(client.get("/metrics", headers=admin_headers).get_data(as_text=True))
    assert -122 < _value(samples, "sigsvc_clock_skew_seconds") < -118

    app.config["CLOCK_SKEW_TOLERANCE"] = 300  # a looser tolerance accepts the same skew
    assert client.get("/readyz").status_code == 200
    app.config["CLOCK_SKEW_TOLERANCE"] = 10

    with pytest.raises(EvidenceError):  # the batch TSA's answer is measured too (not a token)
        Tsa(dated_server(0)).timestamp(b"batch")
    back = client.get("/readyz")
    assert back.status_code == 200
    clock = back.get_json()["clock"]
    assert abs(clock["skew_seconds"]) < 2 and clock["source"] == "127.0.0.1"
