"""Real OCSP, CRL, CA-certificate and RFC 3161 TSA responders for the test PKI on 127.0.0.1.

certomancer's Animator (a werkzeug WSGI app) answers for ``pki.yml`` on the fixed port baked
into the certificates (``BASE_URL``). Its clock is fixed at ``clock.RESPONDER_TIME``; a client may
ask "as of" another instant with the ``X-Certomancer-Fake-Time`` header (``time_header(at)``).

Several processes may share the port: if it is already taken by a server that answers
``/_testpki/identity`` with this PKI's fingerprint, that server is reused (and taken over when
its process exits); a different server there is waited for (``ensure_running``). "Responder down" is
the dead port ``DEAD_URL`` (connection refused), which the ``ocsp_down`` signer's AIA names.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import requests
from certomancer.integrations.animator import Animator, AnimatorArchStore
from werkzeug.wrappers import Request, Response

from . import clock, lotl, pki, services, tl

IDENTITY_PATH = "/_testpki/identity"
TIME_HEADER = "X-Certomancer-Fake-Time"
_lock = threading.Lock()
_server: WSGIServer | None = None
_watcher: threading.Thread | None = None


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log: test output stays readable."""


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    # stdlib server: a taken port raises OSError (werkzeug's would print and sys.exit).
    daemon_threads = True


class ResponderPortBusy(RuntimeError):
    """The fixed responder port is held by something that is not this test PKI's server."""


def fingerprint() -> str:
    """Identity of this PKI's responders: the YAML, the keys and this package's code."""
    digest = hashlib.sha256(pki.CONFIG_PATH.read_bytes())
    paths = [*(pki.HERE / "test-only-keys").glob("*.pem"), *pki.HERE.glob("*.py")]
    for path in sorted(paths):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def time_header(at: datetime) -> dict[str, str]:
    """Request headers that make the responders answer as of ``at`` (timezone-aware)."""
    return {TIME_HEADER: at.isoformat()}


_OCSP_LABELS = frozenset({"ica-ocsp", "legacy-ocsp", "tsa-ca-ocsp", "rogue-ocsp"})
# TSA service label (URL) -> certificate label in pki.yml
TSA_CERTS = {"tsa": "tsa", "unlisted-tsa": "unlisted_tsa", "tsa-archive": "tsa_archive"}


def _at(request: Request) -> datetime:
    """The instant to answer as of: the fake-time header if present, else RESPONDER_TIME."""
    header = request.headers.get(TIME_HEADER)
    if header is None:
        return clock.RESPONDER_TIME
    moment = datetime.fromisoformat(header)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=clock.UTC)


def _app() -> Any:
    animator = Animator(
        AnimatorArchStore({pki.ARCH: pki.architecture()}),
        at_time=clock.RESPONDER_TIME,
        with_web_ui=False,
        allow_time_override=True,
    )
    identity = fingerprint().encode()
    lists = {
        urlsplit(lotl.LV_TL_URL).path: tl.build_trusted_list(),
        urlsplit(lotl.LOTL_URL).path: lotl.build_lotl(),
    }
    ocsp_prefix = f"/{pki.ARCH.value}/ocsp/"
    tsa_prefix = f"/{pki.ARCH.value}/tsa/"

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == IDENTITY_PATH:
            return Response(identity, mimetype="text/plain")(environ, start_response)
        if request.method == "GET" and request.path in lists:
            body = lists[request.path]
            return Response(body, mimetype="application/vnd.etsi.tsl+xml")(environ, start_response)
        if request.method == "POST" and request.path.startswith(ocsp_prefix):
            label = request.path.removeprefix(ocsp_prefix)
            if label not in _OCSP_LABELS:
                return Response(status=404)(environ, start_response)
            body = services.ocsp_response(label, request.get_data(), _at(request))
            return Response(body, mimetype="application/ocsp-response")(environ, start_response)
        if request.method == "POST" and request.path.startswith(tsa_prefix):
            cert_label = TSA_CERTS.get(request.path.removeprefix(tsa_prefix))
            if cert_label is None:
                return Response(status=404)(environ, start_response)
            body = services.timestamp_response(request.get_data(), _at(request), cert_label)
            return Response(body, mimetype="application/timestamp-reply")(environ, start_response)
        return animator(environ, start_response)

    return app


def _identity_of_running_server() -> str | None:
    try:
        reply = requests.get(pki.BASE_URL + IDENTITY_PATH, timeout=5)
    except requests.RequestException:
        return None
    return reply.text if reply.ok else None


def _try_serve() -> bool:
    """Bind the fixed port and serve in a daemon thread; False when the port is taken."""
    global _server
    parts = urlsplit(pki.BASE_URL)
    try:
        server = make_server(
            parts.hostname or "",
            parts.port or 80,
            _app(),
            server_class=_ThreadingServer,
            handler_class=_QuietHandler,
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        return False
    threading.Thread(target=server.serve_forever, name="testpki-responders", daemon=True).start()
    _server = server
    return True


def _port_answers() -> bool:
    parts = urlsplit(pki.BASE_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


def _watch_borrowed_server() -> None:
    """We reuse another process's server: take the port over as soon as that process exits."""
    while True:
        time.sleep(0.2)
        if _port_answers():
            continue
        with _lock:
            if _server is not None or _try_serve():
                return


def ensure_running(wait_seconds: float = 120.0) -> str:
    """Start the responders in a daemon thread, or reuse an identical server; returns BASE_URL.

    An identical server (same pki.yml, keys and responder code) started by another process is
    reused, and this process takes the port over when that one exits. A different server on
    the port (e.g. another checkout's version) is waited for up to ``wait_seconds``, then
    ``ResponderPortBusy``.
    """
    global _watcher
    deadline = time.monotonic() + wait_seconds
    with _lock:
        while _server is None:
            if _try_serve():
                break
            found = _identity_of_running_server()
            if found == fingerprint():
                if _watcher is None:
                    _watcher = threading.Thread(
                        target=_watch_borrowed_server, name="testpki-watch", daemon=True
                    )
                    _watcher.start()
                break
            if time.monotonic() > deadline:
                raise ResponderPortBusy(
                    f"{pki.BASE_URL} is held by a different server (identity {found!r})"
                )
            time.sleep(0.5)
    return pki.BASE_URL


@dataclass(frozen=True)
class Responders:
    """URLs of the running responders (all also baked into the certificates)."""

    base_url: str = pki.BASE_URL
    dead_url: str = pki.DEAD_URL

    @property
    def trusted_list_url(self) -> str:
        """The test LV trusted list (``tl.build_trusted_list()`` bytes)."""
        return lotl.LV_TL_URL

    @property
    def lotl_url(self) -> str:
        """The test list of the lists (``lotl.build_lotl()`` bytes)."""
        return lotl.LOTL_URL

    @property
    def tsa_url(self) -> str:
        """The qualified TSA (a granted QTST service on the test trusted list)."""
        return self.tsa_url_for("tsa")

    def tsa_url_for(self, service: str) -> str:
        """``tsa`` or ``unlisted-tsa`` (same chain, not on the trusted list)."""
        return f"{self.base_url}/{pki.ARCH.value}/tsa/{service}"

    def ocsp_url(self, responder: str = "ica-ocsp") -> str:
        return f"{self.base_url}/{pki.ARCH.value}/ocsp/{responder}"

    def crl_url(self, repo: str = "ica-crl") -> str:
        return f"{self.base_url}/{pki.ARCH.value}/crls/{repo}/latest.crl"

    def ca_cert_url(self, repo: str = "ica-certs") -> str:
        return f"{self.base_url}/{pki.ARCH.value}/certs/{repo}/ca.crt"


@contextlib.contextmanager
def serve_responders() -> Iterator[Responders]:
    """Context manager: the responders are up (started or reused) while it is open.

    The server thread lives until the process exits, so entering this twice is cheap.
    """
    ensure_running()
    yield Responders()
