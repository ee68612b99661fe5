"""`sigsvc trust refresh` and the service's reload: a test LOTL and LV list served from
127.0.0.1, verified with the pinned LOTL signer and the operators the LOTL announces."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from structlog.testing import capture_logs

from certification.testpki import clock
from certification.testpki.lotl import build_lotl
from certification.testpki.pki import cert_der
from certification.testpki.tl import build_trusted_list
from crypto import TrustedListSource, TrustStore
from sigsvc.cli import cli
from sigsvc.intake import trustlists

NOW = clock.TL_ISSUED + timedelta(hours=1)


class _Lists:
    """A tiny HTTP server on 127.0.0.1 publishing a LOTL and an LV list (replaceable)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
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
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, sequence: int) -> None:
        self.files["/lv.xml"] = build_trusted_list(sequence=sequence)
        self.files["/lotl.xml"] = build_lotl(tl_location=f"{self.base}/lv.xml")


@pytest.fixture
def lists() -> Iterator[_Lists]:
    served = _Lists()
    served.thread.start()
    served.publish(1)
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()


def _settings(lists: _Lists, directory: Path, signer: str = "lotl_operator"):  # type: ignore[no-untyped-def]
    return trustlists.RefreshSettings(
        directory=directory,
        lotl_signers=(cert_der(signer),),
        lotl_url=f"{lists.base}/lotl.xml",
        allow_loopback_http=True,
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
    settings = _settings(lists, tmp_path)
    strict = trustlists.RefreshSettings(
        directory=tmp_path, lotl_signers=settings.lotl_signers, lotl_url=settings.lotl_url
    )
    with pytest.raises(trustlists.TrustRefreshError, match="HTTPS only"):
        trustlists.refresh(strict, now=NOW)


def test_trust_refresh_cli(lists: _Lists, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    signer = tmp_path / "lotl-signer.der"
    signer.write_bytes(cert_der("lotl_operator"))
    monkeypatch.setenv("SIGSVC_TRUST_TEST_HTTP", "1")
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
