"""Real OCSP, CRL, CA-certificate and RFC 3161 TSA responders for the test PKI on 127.0.0.1.

certomancer's Animator (a werkzeug WSGI app) answers for ``pki.yml`` on the fixed port baked
into the certificates (``BASE_URL``). Its clock is fixed at ``clock.RESPONDER_TIME``; a client may
ask "as of" another instant with the ``X-Certomancer-Fake-Time`` header (``time_header(at)``).

Several processes may share the port: if it is already taken by a server that answers
``/_testpki/identity`` with this PKI's fingerprint, that server is reused. "Responder down" is
the dead port ``DEAD_URL`` (connection refused), which the ``ocsp_down`` signer's AIA names.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from certomancer.integrations.animator import Animator, AnimatorArchStore
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import clock, pki

IDENTITY_PATH = "/_testpki/identity"
TIME_HEADER = "X-Certomancer-Fake-Time"
_lock = threading.Lock()
_server: BaseWSGIServer | None = None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: test output stays readable."""


class ResponderPortBusy(RuntimeError):
    """The fixed responder port is held by something that is not this test PKI's server."""


def fingerprint() -> str:
    """Identity of this PKI's responders: the YAML and the keys it names."""
    digest = hashlib.sha256(pki.CONFIG_PATH.read_bytes())
    for path in sorted((pki.HERE / "test-only-keys").glob("*.pem")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def time_header(at: datetime) -> dict[str, str]:
    """Request headers that make the responders answer as of ``at`` (timezone-aware)."""
    return {TIME_HEADER: at.isoformat()}


def _app() -> Any:
    animator = Animator(
        AnimatorArchStore({pki.ARCH: pki.architecture()}),
        at_time=clock.RESPONDER_TIME,
        with_web_ui=False,
        allow_time_override=True,
    )
    identity = fingerprint().encode()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == IDENTITY_PATH:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [identity]
        return animator(environ, start_response)

    return app


def _identity_of_running_server() -> str | None:
    try:
        reply = requests.get(pki.BASE_URL + IDENTITY_PATH, timeout=5)
    except requests.RequestException:
        return None
    return reply.text if reply.ok else None


def ensure_running() -> str:
    """Start the responders in a daemon thread, or reuse an identical server; returns BASE_URL."""
    global _server
    with _lock:
        if _server is not None:
            return pki.BASE_URL
        parts = urlsplit(pki.BASE_URL)
        try:
            server = make_server(
                parts.hostname or "",
                parts.port or 80,
                _app(),
                threaded=True,
                request_handler=_QuietHandler,
            )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            found = _identity_of_running_server()
            if found != fingerprint():
                raise ResponderPortBusy(
                    f"{pki.BASE_URL} is in use by something else (identity {found!r})"
                ) from exc
            return pki.BASE_URL
        threading.Thread(
            target=server.serve_forever, name="testpki-responders", daemon=True
        ).start()
        _server = server
        return pki.BASE_URL


@dataclass(frozen=True)
class Responders:
    """URLs of the running responders (all also baked into the certificates)."""

    base_url: str = pki.BASE_URL
    dead_url: str = pki.DEAD_URL

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/{pki.ARCH.value}/tsa/tsa"

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
