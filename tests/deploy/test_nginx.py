"""deploy/nginx.conf, as shipped, in front of `sigsvc serve`: Debian's nginx started as a
non-daemon in a temporary prefix on loopback ports with a throwaway certificate. Only the
listen ports, the certificate paths and the upstream port are rewritten (each rewrite must
match, so a changed deploy file fails here rather than going untested)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from certification.certify.local import tls_files
from tests.conftest import _free_port
from tests.signatures.conftest import settings_env

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # SIGSVC_MAX_CONTENT_LENGTH's default = client_max_body_size
ASICE = "application/vnd.etsi.asic-e+zip"
ADMIN_TOKEN = "nginx-test-admin-token-0123456789abcdef"


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("nginx missing: .ci/run installs Debian's nginx")
        pytest.skip("nginx not installed (Debian: apt-get install nginx)")
    return found


def site_config(cert: Path, key: Path, tls_port: int, http_port: int, upstream: int) -> str:
    text = DEPLOY.read_text(encoding="utf-8")
    rewrites = [
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("/etc/ssl/sigsvc/fullchain.pem", str(cert)),
        ("/etc/ssl/sigsvc/privkey.pem", str(key)),
        ("http://127.0.0.1:8080", f"http://127.0.0.1:{upstream}"),
    ]
    for old, new in rewrites:
        assert old in text, f"deploy/nginx.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    return text


def main_config(prefix: Path, site: Path) -> str:
    """What /etc/nginx/nginx.conf gives the site in production, in a private prefix: one
    process in the foreground (no user switch, so root can run it in a temporary folder)."""
    temp = "\n".join(
        f"  {name}_temp_path {prefix / name};" for name in ("client_body", "proxy", "fastcgi",
                                                            "uwsgi", "scgi")
    )  # fmt: skip
    return (
        f"daemon off;\nmaster_process off;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\nevents {{}}\n"
        f"http {{\n  access_log {prefix / 'access.log'};\n{temp}\n  include {site};\n}}\n"
    )


def _wait(url: str, server: subprocess.Popen[bytes], **kwargs: Any) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(url, timeout=5, **kwargs).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline and server.poll() is None, f"{url} not ready"
        time.sleep(0.1)


@pytest.fixture
def front(app: Flask, tmp_path: Path) -> Iterator[tuple[int, int, Path, Callable[[], str]]]:
    """(TLS port, plain HTTP port, CA file, nginx error log reader) of nginx in front of a
    `sigsvc serve` with this test's intake settings."""
    nginx = _nginx()
    keys = ("INTAKE_KEYS", "LOG_KEY_FILE", "LOG_ORIGIN", "TRUSTED_LISTS", "TL_SIGNERS",
            "TEST_CLOCK", "CHECKPOINT_INTERVAL", "RATE_PLATFORM", "RATE_SIGNER")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(settings_env({k: app.config[k] for k in keys}))
    env.update({"DATABASE_URL": app.config["DATABASE_URL"], "SIGSVC_WORKERS": "1",
                "SIGSVC_ADMIN_TOKEN": ADMIN_TOKEN,
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")})  # fmt: skip
    upstream, tls_port, http_port = _free_port(), _free_port(), _free_port()
    sigsvc = str(Path(sys.executable).parent / "sigsvc")
    service = subprocess.Popen(
        [sigsvc, "serve", "--bind", f"127.0.0.1:{upstream}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    cert, key = tls_files(prefix)
    site = prefix / "sigsvc.conf"
    site.write_text(site_config(cert, key, tls_port, http_port, upstream), encoding="utf-8")
    (prefix / "nginx.conf").write_text(main_config(prefix, site), encoding="utf-8")
    proxy = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait(f"http://127.0.0.1:{upstream}/readyz", service)
        _wait(f"https://127.0.0.1:{tls_port}/healthz", proxy, verify=str(cert))
        yield tls_port, http_port, cert, lambda: (prefix / "error.log").read_text()
    finally:
        for process in (proxy, service):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def _context(version: ssl.TLSVersion, purpose: int = ssl.PROTOCOL_TLS_CLIENT) -> ssl.SSLContext:
    """Only `version`, at SECLEVEL=0: the client itself would offer TLS 1.0/1.1, so a refusal
    is the server's."""
    context = ssl.SSLContext(purpose)
    if purpose == ssl.PROTOCOL_TLS_CLIENT:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1/TLSv1_1
        context.minimum_version = context.maximum_version = version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def _handshake(port: int, version: ssl.TLSVersion) -> str:
    """The protocol agreed when the client offers only `version`."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with _context(version).wrap_socket(raw) as tls:
        return str(tls.version())


def _tls10_works_here(cert: Path, key: Path) -> bool:
    """Control: this machine's OpenSSL does speak TLS 1.0 to a server that allows it."""
    server = _context(ssl.TLSVersion.TLSv1, ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def accept() -> None:
            conn, _ = listener.accept()
            with contextlib.suppress(OSError), server.wrap_socket(conn, server_side=True):
                pass

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            return _handshake(listener.getsockname()[1], ssl.TLSVersion.TLSv1) == "TLSv1"
        except ssl.SSLError:
            return False
        finally:
            thread.join(timeout=10)


def test_nginx_front_as_deployed(front, initiative, container):
    tls_port, http_port, cert, error_log = front
    base = f"https://127.0.0.1:{tls_port}"

    assert _handshake(tls_port, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    assert _handshake(tls_port, ssl.TLSVersion.TLSv1_3) == "TLSv1.3"
    assert _tls10_works_here(cert, cert.with_name("tls.key"))  # the refusals below are nginx's
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        with pytest.raises(ssl.SSLError):
            _handshake(tls_port, old)

    health = requests.get(f"{base}/healthz", verify=str(cert), timeout=10)
    assert health.json() == {"status": "ok"}
    hsts = health.headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000 and "includeSubDomains" in hsts

    plain = requests.get(f"http://127.0.0.1:{http_port}/healthz", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"] == "https://127.0.0.1/healthz"

    # The request id the service expects: a client's UUID is kept end to end, anything else
    # (could carry a personal code) is replaced by the service's own.
    mine = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # a UUID without an 11-digit run (random
    # ones have one ~6 % of the time, and sigsvc replaces those: sigsvc/web/requestlog.py)
    echoed = requests.get(f"{base}/healthz", headers={"X-Request-Id": mine}, verify=str(cert),
                          timeout=10)  # fmt: skip
    assert echoed.headers["X-Request-Id"] == mine
    replaced = requests.get(f"{base}/healthz", headers={"X-Request-Id": "lb-321234-56789"},
                            verify=str(cert), timeout=10)  # fmt: skip
    assert replaced.headers["X-Request-Id"] not in ("", "lb-321234-56789")
    # X-Forwarded-Proto: the service knows it is behind TLS (the console cookie is Secure).
    login = requests.post(f"{base}/console/login", verify=str(cert), allow_redirects=False,
                          data={"token": ADMIN_TOKEN},
                          headers={"Origin": "https://127.0.0.1"}, timeout=10)  # fmt: skip
    assert login.status_code == 303 and "Secure" in login.headers["Set-Cookie"]
    # /metrics is for the inside network only (10/8): not from here, even with the token.
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    metrics = requests.get(f"{base}/metrics", headers=admin, verify=str(cert), timeout=10)
    assert metrics.status_code == 403

    # A signature through the proxy; bodies up to the service's limit reach the service (its
    # own JSON answer), one byte more is nginx's 413.
    auth = {"Authorization": f"Bearer {initiative['key']}", "Content-Type": ASICE}
    url = f"{base}/v1/initiatives/{initiative['id']}/signatures"
    posted = requests.post(url, data=container("valid_rsa"), verify=str(cert), timeout=60,
                           headers={**auth, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    assert posted.status_code == 201, posted.text
    at_limit = requests.post(url, data=b"\0" * MAX_CONTENT_LENGTH, verify=str(cert), timeout=60,
                             headers={**auth, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    assert at_limit.headers["Content-Type"].startswith("application/json"), at_limit.text[:200]
    assert at_limit.json()["error"]["code"] == "TOO_LARGE"  # the service's signature limit
    over = requests.post(url, data=b"\0" * (MAX_CONTENT_LENGTH + 1), verify=str(cert),
                         headers={**auth, "Idempotency-Key": "over"}, timeout=60)  # fmt: skip
    assert over.status_code == 413 and "application/json" not in over.headers["Content-Type"]
    assert "client intended to send too large body" in error_log()
