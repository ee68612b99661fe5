"""/metrics after a scenario: the numbers are the scenario's (in-process, and summed over two
gunicorn workers in multiprocess mode); request log lines name the platform."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from certification.testpki import RESPONDER_TIME
from sigsvc import db
from sigsvc.log.storage import SqlLogStorage
from tests.conftest import _free_port
from tests.signatures.conftest import post, settings_env

ROUTE = "/v1/initiatives/<uuid:initiative_id>/signatures"


def _scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _intake(samples, outcome: str, reason: str = "") -> float:
    return _value(samples, "sigsvc_intake_total", kind="signature", outcome=outcome, reason=reason)


@pytest.mark.parametrize("intake_overrides", [{"RATE_PLATFORM": "0.0001/6"}])
def test_metrics_count_a_scenario(
    app, client, initiative, container, admin_headers, intake_overrides, capsys
):
    assert client.get("/metrics").status_code == 401  # behind the admin token
    before = _scrape(client.get("/metrics", headers=admin_headers).get_data(as_text=True))

    key = uuid.uuid4().hex
    assert post(client, initiative, container("valid_rsa"), key=key).status_code == 201
    assert post(client, initiative, container("valid_rsa"), key=key).status_code == 201  # replay
    assert post(client, initiative, container("revoked")).status_code == 422
    assert post(client, initiative, container("valid_rsa", digest="sha384")).status_code == 409
    unavailable = post(client, initiative, container("ocsp_down", level="T"))
    assert unavailable.status_code == 503
    # Until the burst of 6 is spent: another person (accepted once, then DUPLICATE), then 429.
    statuses = [post(client, initiative, container("valid_p384")).status_code for _ in range(10)]
    denied, accepted, duplicates = (statuses.count(s) for s in (429, 201, 409))
    assert denied >= 5 and accepted == 1 and denied + accepted + duplicates == 10

    page = client.get("/metrics", headers=admin_headers)
    assert page.status_code == 200 and page.content_type.startswith("text/plain")
    after = _scrape(page.get_data(as_text=True))

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert _intake(after, "accepted") - _intake(before, "accepted") == 1 + accepted
    assert _intake(after, "replayed") - _intake(before, "replayed") == 1
    assert (
        _intake(after, "rejected", "CERT_REVOKED") - _intake(before, "rejected", "CERT_REVOKED")
        == 1
    )
    duplicate = _intake(after, "rejected", "DUPLICATE") - _intake(before, "rejected", "DUPLICATE")
    assert duplicate == 1 + duplicates
    refused = _intake(after, "refused", "REVOCATION_UNAVAILABLE")
    assert refused - _intake(before, "refused", "REVOCATION_UNAVAILABLE") == 1
    rate_limited = _intake(after, "refused", "RATE_LIMITED") - _intake(
        before, "refused", "RATE_LIMITED"
    )
    assert rate_limited == denied
    assert delta("sigsvc_rate_limit_denials_total", route=ROUTE) == denied
    # Verified: accepted, revoked, duplicate, ocsp_down, and the posts that got through (the
    # replay is answered from the idempotency record, a denial comes before verification).
    assert delta("sigsvc_verification_duration_seconds_count") == 4 + accepted + duplicates
    assert delta("sigsvc_http_request_duration_seconds_count", route=ROUTE, method="POST",
                 status="201") == 2 + accepted  # fmt: skip
    fetch_errors = sum(
        value - _value(before, name, **dict(labels))
        for (name, labels), value in after.items()
        if name == "sigsvc_fetch_errors_total"
    )
    assert fetch_errors >= 1  # the unreachable responder of ocsp_down

    with db.session_scope(app) as session:
        size = SqlLogStorage(session).size()
    assert _value(after, "sigsvc_log_entries") == size
    assert _value(after, "sigsvc_batches", state="created") == 0
    left = (datetime(2026, 6, 1, tzinfo=UTC) - RESPONDER_TIME).total_seconds()
    assert _value(after, "sigsvc_trusted_list_next_update_seconds", territory="LV",
                  sequence="1") == left  # fmt: skip

    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    posted = [r for r in lines if r.get("event") == "request" and r.get("route") == ROUTE]
    platform_id = initiative["platform_id"]
    assert posted and all(r["platform"] == platform_id for r in posted)


def test_multiprocess_metrics_sum_over_workers(app, initiative, container, tmp_path, database_url):
    settings = {
        k: app.config[k]
        for k in ("INTAKE_KEYS", "LOG_KEY_FILE", "LOG_ORIGIN", "TRUSTED_LISTS", "TL_SIGNERS",
                  "TEST_CLOCK", "CHECKPOINT_INTERVAL", "RATE_PLATFORM", "RATE_SIGNER")
    }  # fmt: skip
    admin = "metrics-test-admin-token-0123456789abcdef"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(settings_env(settings))
    env.update(
        {
            "DATABASE_URL": database_url,
            "SIGSVC_ADMIN_TOKEN": admin,
            "SIGSVC_LOG_LEVEL": "WARNING",
            "SIGSVC_WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    sigsvc = str(Path(sys.executable).parent / "sigsvc")
    server = subprocess.Popen(
        [sigsvc, "serve", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "server not ready"
            time.sleep(0.1)
        bodies = [container(s) for s in ("valid_rsa", "revoked", "untrusted", "no_prefix")] * 2
        for body in bodies:  # keep-alive off: connections spread over both workers
            requests.post(
                f"{base}/v1/initiatives/{initiative['id']}/signatures",
                data=body,
                headers={
                    "Authorization": f"Bearer {initiative['key']}",
                    "Content-Type": "application/vnd.etsi.asic-e+zip",
                    "Idempotency-Key": uuid.uuid4().hex,
                    "Connection": "close",
                },
                timeout=60,
            )
        page = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {admin}"},
                            timeout=30)  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert page.status_code == 200
    samples = _scrape(page.text)
    intake = sum(v for (name, _), v in samples.items() if name == "sigsvc_intake_total")
    assert intake == len(bodies)
    assert _intake(samples, "accepted") == 2  # valid_rsa and no_prefix, once each
    # One file per worker process that recorded something (the master records nothing).
    pids = {p.stem.rsplit("_", 1)[1] for p in (tmp_path / "metrics").glob("*.db")}
    assert pids and str(server.pid) not in pids
