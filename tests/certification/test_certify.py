"""sigsvc-certify against the service started in-process (real HTTP on 127.0.0.1, SQLite).

A rule broken by monkeypatching inside the test (never a product setting) must turn the
affected check into FAIL; the intact service PASSes the same check; bad runner input exits 2
and writes no report.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from werkzeug.serving import make_server

from certification.certify import cli
from certification.certify.kit import ensure_kit
from crypto._internal import pipeline
from sigsvc import clockskew, credentials, db, services
from sigsvc.app import create_app
from sigsvc.intake.pseudonym import PseudonymKey
from tests.signatures.conftest import intake_settings

pytestmark = pytest.mark.usefixtures("responders")


@pytest.fixture
def kit_dir(tmp_path: Path) -> Path:
    return ensure_kit(tmp_path / "kit").directory


def _app(tmp_path: Path, kit_dir: Path, **overrides: Any) -> Flask:
    kit = ensure_kit(kit_dir)
    url = f"sqlite:///{tmp_path / 'sigsvc.sqlite'}"
    db.upgrade(url)
    settings = intake_settings(tmp_path, **overrides)
    settings.pop("TEST_CLOCK")  # the suite signs at the real time, as against any deployment
    settings.update(
        {
            "BATCH_DIR": str(tmp_path / "batches"),
            "BATCH_SEAL": {
                "SIGSVC_BATCH_SEAL_KEY": str(kit.seal_key),
                "SIGSVC_BATCH_SEAL_CERT": str(kit.seal_chain),
                "SIGSVC_BATCH_TSA_URL": kit.environment()["SIGSVC_BATCH_TSA_URL"],
            },
            "RECEIVER_KEY": kit.receiver_signer().verifier().vkey,
            "CHECKPOINT_INTERVAL": 1,
        }
    )
    if "TRUSTED_LISTS" not in overrides:  # real time: the kit's re-issued TEST list
        settings["TRUSTED_LISTS"] = str(kit.trusted_list)
    return create_app(
        {"TESTING": True, "DATABASE_URL": url, "ADMIN_TOKEN_SHA256": None, **settings},
        instance_path=str(tmp_path / "instance"),
    )


def _serve(app: Flask) -> tuple[Any, threading.Thread]:
    """One server thread handling requests in turn (the runner sends them one at a time);
    crypto's per-thread event loop is closed in that thread when it stops."""
    server = make_server("127.0.0.1", 0, app, threaded=False)

    def loop() -> None:
        try:
            server.serve_forever(0.05)
        finally:
            from crypto._internal import chain

            pending = getattr(chain._LOCAL, "loop", None)
            if pending is not None:
                pending.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def served(tmp_path: Path, kit_dir: Path) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of the service in this process."""
    app = _app(tmp_path, kit_dir)
    with db.session_scope(app) as session:
        token = credentials.create_admin_token(session, services.log_service(app), "certify-test")[
            1
        ]
    server, thread = _serve(app)
    try:
        yield f"http://127.0.0.1:{server.server_port}", token
    finally:
        server.shutdown()
        thread.join(timeout=10)
        services.close(app)
        db.engine_of(app).dispose()


def _run(served: tuple[str, str], kit_dir: Path, out: Path, *extra: str) -> int:
    url, token = served
    return cli.main(
        [
            "run",
            "--target",
            url,
            "--admin-token",
            token,
            "--kit",
            str(kit_dir),
            "--out",
            str(out),
            *extra,
        ]
    )


SCHEMA = Path(__file__).parents[2] / "sigsvc" / "contract" / "certify-report.schema.json"


def _verdicts(out: Path) -> dict[str, str]:
    doc = json.loads((out / "report.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["target"]["version"] and doc["trust"] and doc["run_id"]
    return {c["id"]: c["verdict"] for c in doc["checks"]}


def _break_minimum_age(monkeypatch: pytest.MonkeyPatch) -> None:
    # every signer is "99 years old": the regime's minimum age is never enforced
    monkeypatch.setattr(pipeline, "age_on", lambda born, day: 99)


def _break_one_per_person(monkeypatch: pytest.MonkeyPatch) -> None:
    # every signature gets a fresh deduplication key: a person is counted again and again
    monkeypatch.setattr(PseudonymKey, "dedup_key", lambda self, initiative, code: os.urandom(32))


def _break_clock_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    # the server clock is 2 min off what its TSA says, and /readyz does not flag it
    skewed = clockskew.Skew(120.0, "tsa.test", time.time())
    monkeypatch.setattr(clockskew, "last", lambda: skewed)
    monkeypatch.setattr(clockskew, "problem", lambda tolerance: None)


@pytest.mark.parametrize(
    ("check", "breaker"),
    [("C13", None), ("C13", _break_minimum_age), ("C11", None), ("C11", _break_one_per_person),
     ("C28", None), ("C28", _break_clock_flag)],
    ids=["C13-intact", "C13-minimum-age-broken", "C11-intact", "C11-one-per-person-broken",
         "C28-intact", "C28-clock-skew-unflagged"],
)  # fmt: skip
def test_a_broken_rule_fails_its_check(served, kit_dir, tmp_path, monkeypatch, check, breaker):
    if breaker is not None:
        breaker(monkeypatch)
    out = tmp_path / "report"
    code = _run(served, kit_dir, out, "--only", f"{check},C24")
    verdicts = _verdicts(out)
    broken = breaker is not None
    assert verdicts == {check: "FAIL" if broken else "PASS", "C24": "SKIP"}
    assert code == (1 if broken else 0)
    assert {p.name for p in out.iterdir()} == {"report.json", "report.html", "junit.xml"}
    junit = (out / "junit.xml").read_text()
    assert ("<failure" in junit) is broken and "<skipped" in junit


def _no_report(out: Path) -> bool:
    return not out.exists()


def test_wrong_url_exits_2_without_a_report(kit_dir, tmp_path, capsys):
    out = tmp_path / "report"
    code = cli.main(
        [
            "run",
            "--target",
            "http://127.0.0.1:9",
            "--admin-token",
            "x" * 40,
            "--kit",
            str(kit_dir),
            "--out",
            str(out),
        ]
    )
    assert code == 2 and _no_report(out)
    assert "cannot reach it" in capsys.readouterr().err


def test_wrong_admin_token_exits_2_without_a_report(served, kit_dir, tmp_path, capsys):
    out = tmp_path / "report"
    assert _run((served[0], "y" * 43), kit_dir, out) == 2 and _no_report(out)
    assert "--admin-token" in capsys.readouterr().err


def test_unknown_check_and_missing_kit_exit_2(served, kit_dir, tmp_path, capsys):
    out = tmp_path / "report"
    assert _run(served, kit_dir, out, "--only", "C5,C99") == 2
    assert "C99" in capsys.readouterr().err
    assert _run(served, tmp_path / "no-kit", out) == 2 and _no_report(out)
    assert "sigsvc-certify env --kit" in capsys.readouterr().err


def test_a_target_without_the_test_pki_exits_2(tmp_path, kit_dir, capsys):
    generated = Path(__file__).parents[2] / "certification" / "testpki" / "generated" / "certs"
    app = _app(
        tmp_path,
        kit_dir,
        TRUSTED_LISTS="",
        TL_SIGNERS="",
        ANCHORS=str(generated / "rogue_root.pem"),
    )
    with db.session_scope(app) as session:
        token = credentials.create_admin_token(session, services.log_service(app), "certify-test")[
            1
        ]
    server, thread = _serve(app)
    try:
        out = tmp_path / "report"
        assert _run((f"http://127.0.0.1:{server.server_port}", token), kit_dir, out) == 2
        assert _no_report(out)
        err = capsys.readouterr().err
        assert "does not accept a valid TEST-PKI signature" in err
        assert "SIGSVC_TRUSTED_LISTS" in err
    finally:
        server.shutdown()
        thread.join(timeout=10)
        services.close(app)
        db.engine_of(app).dispose()
