"""`sigsvc trust refresh` and the service's reload: a test LOTL and LV list served over HTTPS
from 127.0.0.1 (a CA made here, given to the fetcher as SIGSVC_TRUST_CA_FILE would), verified
with the pinned LOTL signer and the operators the LOTL announces."""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from structlog.testing import capture_logs

from certification.testpki import clock
from certification.testpki.lotl import build_lotl
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list
from crypto import TrustedListSource, TrustStore
from sigsvc.cli import cli
from sigsvc.intake import trustlists

NOW = clock.TL_ISSUED + timedelta(hours=1)


@dataclass(frozen=True)
class _Tls:
    ca_file: Path  # what the fetcher is told to trust
    cert_file: Path  # the list server's certificate (127.0.0.1) and key
    key_file: Path


def _certificate(subject: str, key, issuer_key, issuer: str, *, ca: bool):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> _Tls:
    """A TEST CA and a server certificate for 127.0.0.1, made for this module."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("TEST list server CA", ca_key, ca_key, "TEST list server CA", ca=True)
    server = _certificate("127.0.0.1", key, ca_key, "TEST list server CA", ca=False)
    out = _Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    out.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out.cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    out.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return out


class _Lists:
    """A tiny HTTPS server on 127.0.0.1 publishing a LOTL and an LV list (replaceable)."""

    def __init__(self, tls: _Tls | None) -> None:
        self.files: dict[str, bytes] = {}
        self.ca_file = tls.ca_file if tls is not None else None  # what clients must trust
        lists = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = lists.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert_file, tls.key_file)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.base = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, sequence: int) -> None:
        self.files["/lv.xml"] = build_trusted_list(sequence=sequence)
        self.files["/lotl.xml"] = build_lotl(tl_location=f"{self.base}/lv.xml")


@contextmanager
def _serving(tls: _Tls | None) -> Iterator[_Lists]:
    served = _Lists(tls)
    served.thread.start()
    served.publish(1)
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()


@pytest.fixture
def lists(tls: _Tls) -> Iterator[_Lists]:
    with _serving(tls) as served:
        yield served


def _settings(lists: _Lists, directory: Path, signer: str = "lotl_operator", **more):  # type: ignore[no-untyped-def]
    return trustlists.RefreshSettings(
        directory=directory,
        lotl_signers=(cert_der(signer),),
        lotl_url=f"{lists.base}/lotl.xml",
        ca_file=more.pop("ca_file", lists.ca_file),
        **more,
    )


def test_trust_refresh_keeps_every_version_and_logs_trust_updated(
    lists: _Lists, tmp_path: Path
) -> None:
    settings = _settings(lists, tmp_path)
    with capture_logs() as logs:
        (first,) = trustlists.refresh(settings, now=NOW)
        (again,) = trustlists.refresh(settings, now=NOW)
        lists.publish(2)
        (second,) = trustlists.refresh(settings, now=NOW + timedelta(hours=1))
    assert (first.sequence, first.new, again.new, second.sequence, second.new) == (
        1,
        True,
        False,
        2,
        True,
    )
    updated = [e for e in logs if e["event"] == "trust.updated"]
    assert [(e["territory"], e["sequence"]) for e in updated] == [("LV", 1), ("LV", 2)]
    assert updated[1]["sha256"] == second.sha256
    assert sorted(p.name for p in (tmp_path / "LV").iterdir()) == [
        "1.json",
        "1.lotl.xml",
        "1.xml",
        "2.json",
        "2.lotl.xml",
        "2.xml",
    ]
    assert json.loads((tmp_path / "current.json").read_text()) == {"LV": 2}
    # old signatures: the list in force at a moment, and a store of that version
    assert trustlists.version_in_force(tmp_path, "LV", NOW) == 2  # both issued at TL_ISSUED
    old = trustlists.load(tmp_path, [cert_der("lotl_operator")], versions={"LV": 1})
    assert [i.sequence for i in old.lists] == [1]


def test_trust_refresh_refuses_a_lotl_not_signed_by_the_pinned_signer(
    lists: _Lists, tmp_path: Path
) -> None:
    with pytest.raises(trustlists.TrustRefreshError, match="LOTL"):
        trustlists.refresh(_settings(lists, tmp_path, signer="tl_operator"), now=NOW)
    assert not (tmp_path / "current.json").exists()


def test_trust_refresh_refuses_a_list_not_signed_by_an_announced_operator(
    lists: _Lists, tmp_path: Path
) -> None:
    lists.files["/lv.xml"] = build_trusted_list(operator="tl_operator_other")
    with pytest.raises(trustlists.TrustRefreshError, match="LV list"):
        trustlists.refresh(_settings(lists, tmp_path), now=NOW)


def test_trust_refresh_fetches_over_https_only(lists: _Lists, tmp_path: Path) -> None:
    """Plain http is refused for the LOTL and for the list it points at, unless the TEST
    setting allows it (to 127.0.0.1 only)."""
    with _serving(None) as plain:
        with pytest.raises(trustlists.TrustRefreshError, match="HTTPS only"):
            trustlists.refresh(_settings(plain, tmp_path), now=NOW)
        lists.files["/lotl.xml"] = build_lotl(tl_location=f"{plain.base}/lv.xml")
        with pytest.raises(trustlists.TrustRefreshError, match="HTTPS only"):
            trustlists.refresh(_settings(lists, tmp_path), now=NOW)
        allowed = _settings(plain, tmp_path / "test", allow_loopback_http=True)
        (version,) = trustlists.refresh(allowed, now=NOW)
        assert version.location.startswith("http://127.0.0.1:")
    assert not (tmp_path / "current.json").exists()


def test_trust_refresh_checks_the_list_servers_certificate(lists: _Lists, tmp_path: Path) -> None:
    """Over HTTPS the server's certificate must chain to the configured CA (the system's store
    by default, which does not hold the test CA)."""
    with pytest.raises(trustlists.TrustRefreshError, match="SSLError"):
        trustlists.refresh(_settings(lists, tmp_path, ca_file=None), now=NOW)
    (version,) = trustlists.refresh(_settings(lists, tmp_path), now=NOW)
    assert version.location.startswith("https://127.0.0.1:")


def test_trust_refresh_cli(lists: _Lists, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    signer = tmp_path / "lotl-signer.der"
    signer.write_bytes(cert_der("lotl_operator"))
    monkeypatch.setenv("SIGSVC_TRUST_CA_FILE", str(lists.ca_file))
    monkeypatch.setenv("SIGSVC_TEST_ALLOW_NOW", "1")  # --now is test-only
    result = CliRunner().invoke(
        cli,
        [
            "trust",
            "refresh",
            "--dir",
            str(tmp_path / "store"),
            "--lotl-url",
            f"{lists.base}/lotl.xml",
            "--lotl-signer",
            str(signer),
            "--now",
            NOW.isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.strip().splitlines()[-1])
    assert (line["territory"], line["sequence"], line["new"]) == ("LV", 1, True)


def test_trust_reload_in_running_worker_without_restart(lists: _Lists, tmp_path: Path) -> None:
    settings = _settings(lists, tmp_path)
    trustlists.refresh(settings, now=NOW)
    watch = trustlists.TrustWatch(tmp_path, settings.lotl_signers, interval=0)
    assert [i.sequence for i in watch.load().lists] == [1]
    assert watch.changed() is None  # nothing new yet
    lists.publish(2)
    trustlists.refresh(settings, now=NOW)
    reloaded = watch.changed()
    assert reloaded is not None and [i.sequence for i in reloaded.lists] == [2]
    assert watch.changed() is None


def test_trust_stale_past_next_update_plus_grace() -> None:
    store = TrustStore(
        trusted_lists=[TrustedListSource(build_trusted_list(), (cert_der("tl_operator"),), NOW)]
    )
    grace = timedelta(hours=6)
    assert trustlists.stale_lists(store, clock.TL_NEXT_UPDATE + grace, grace) == []
    assert trustlists.stale_lists(store, clock.TL_NEXT_UPDATE + grace * 2, grace) == ["LV #1"]


class _LotlKey:
    """A LOTL signing key and certificate made here (as the Commission's would be)."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        start = datetime(2025, 1, 1, tzinfo=UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3 * 365))
            .add_extension(
                x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.der = self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def operator(self):  # type: ignore[no-untyped-def]
        return (self.key, self.der)


def _publish_pivot_chain(lists: _Lists, *, pivot2_signer: _LotlKey | None = None) -> list[_LotlKey]:
    """The OJ key A signs pivot 1 (announcing B); B signs pivot 2 (announcing C); C signs the
    current LOTL, which lists pivot 2 and pivot 1. Returns [A, B, C]."""
    a, b, c = _LotlKey("TEST LOTL A (OJ)"), _LotlKey("TEST LOTL B"), _LotlKey("TEST LOTL C")
    pivot1, pivot2 = f"{lists.base}/eu-lotl-pivot-10.xml", f"{lists.base}/eu-lotl-pivot-11.xml"
    lv = f"{lists.base}/lv.xml"
    lists.files["/eu-lotl-pivot-10.xml"] = build_lotl(
        operator=a.operator,
        lotl_signers=[b.der],
        tl_location=lv,
        sequence=10,
        issued=datetime(2025, 6, 1, tzinfo=UTC),
    )
    lists.files["/eu-lotl-pivot-11.xml"] = build_lotl(
        operator=(pivot2_signer or b).operator,
        lotl_signers=[c.der],
        tl_location=lv,
        sequence=11,
        issued=datetime(2025, 9, 1, tzinfo=UTC),
        pivots=[pivot1],
    )
    lists.files["/lotl.xml"] = build_lotl(
        operator=c.operator,
        lotl_signers=[c.der],
        tl_location=lv,
        sequence=12,
        pivots=[pivot2, pivot1],
    )
    return [a, b, c]


def test_trust_refresh_follows_pivot_lotls_back_to_the_pinned_signer(
    lists: _Lists, tmp_path: Path
) -> None:
    """Pinned: the Official Journal's certificate (A). The current LOTL is signed by C; its
    pivots lead A -> B -> C, so it is trusted, and so is the LV list it points at."""
    a, _b, _c = _publish_pivot_chain(lists)
    settings = trustlists.RefreshSettings(
        directory=tmp_path, lotl_signers=(a.der,), lotl_url=f"{lists.base}/lotl.xml",
        ca_file=lists.ca_file,
    )  # fmt: skip
    (version,) = trustlists.refresh(settings, now=NOW)
    assert (version.territory, version.sequence, version.new) == ("LV", 1, True)
    assert sorted(p.name for p in (tmp_path / "LV").glob("1.pivot-*.xml")) == [
        "1.pivot-0.xml",
        "1.pivot-1.xml",
    ]
    # the service re-verifies the stored chain from disk with only A pinned
    store = trustlists.TrustWatch(tmp_path, (a.der,)).load()
    assert [(i.territory, i.sequence) for i in store.lists] == [("LV", 1)]


def test_trust_refresh_refuses_a_broken_pivot_chain(lists: _Lists, tmp_path: Path) -> None:
    """Pivot 2 signed by a key pivot 1 never announced: the chain is broken, nothing stored."""
    intruder = _LotlKey("TEST LOTL intruder")
    a, _b, _c = _publish_pivot_chain(lists, pivot2_signer=intruder)
    settings = trustlists.RefreshSettings(
        directory=tmp_path, lotl_signers=(a.der,), lotl_url=f"{lists.base}/lotl.xml",
        ca_file=lists.ca_file,
    )  # fmt: skip
    with pytest.raises(trustlists.TrustRefreshError, match="pivot LOTL chain broken"):
        trustlists.refresh(settings, now=NOW)
    assert not (tmp_path / "current.json").exists()


def test_trust_refresh_with_the_current_signer_pinned_fetches_no_pivot(
    lists: _Lists, tmp_path: Path
) -> None:
    _a, _b, c = _publish_pivot_chain(lists)
    del lists.files["/eu-lotl-pivot-10.xml"], lists.files["/eu-lotl-pivot-11.xml"]  # 404 now
    settings = trustlists.RefreshSettings(
        directory=tmp_path, lotl_signers=(c.der,), lotl_url=f"{lists.base}/lotl.xml",
        ca_file=lists.ca_file,
    )  # fmt: skip
    (version,) = trustlists.refresh(settings, now=NOW)
    assert version.sequence == 1 and not list((tmp_path / "LV").glob("*.pivot-*"))
