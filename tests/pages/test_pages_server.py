"""The pages without a browser, on SQLite and PostgreSQL: security headers on every answer,
the console's session and CSRF rules, the per-day counts, the open data (CORS, cache, the
API's numbers), the chart's geometry and the health findings."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.db.models import AdminToken
from sigsvc.db.models.intake import Eligibility, Signature
from sigsvc.pages import chart, console_session, health, readmodel
from sigsvc.pages.headers import CSP

PAGES = ["/", "/log", "/receipt", "/console/", "/data/initiatives.json", "/feed.atom"]


def _initiative(app: Flask, number: str = "T-1") -> uuid.UUID:
    with db.session_scope(app) as session:
        made = registry.register_initiative(
            session,
            services.log_service(app),
            registry.NewInitiative(
                Regime.ART22_BILL,
                number,
                "Tests",
                "Teksts.\n",
                date(2026, 1, 1),
                date(2026, 12, 31),
            ),
        )
        return made.id


@pytest.mark.parametrize("path", [*PAGES, "/healthz", "/v1/public/initiatives", "/nowhere"])
def test_every_answer_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.headers["Content-Security-Policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "'unsafe-inline'" not in CSP
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in answer.headers  # plain HTTP: no HSTS


def test_pages_get_hsts_over_tls(client: FlaskClient) -> None:
    direct = client.get("/", base_url="https://localhost")
    assert direct.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_script_or_style(client: FlaskClient, app: Flask) -> None:
    iid = _initiative(app)
    for path in [*PAGES, f"/initiatives/{iid}"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path
        assert "javascript:" not in html and " on" + "click=" not in html


def test_language_switch_and_its_cookie(client: FlaskClient) -> None:
    assert '<html lang="lv">' in client.get("/").get_data(as_text=True)
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "lang=en" in english.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/log").get_data(as_text=True)  # remembered
    assert "Cookie" in english.headers["Vary"]


def test_open_data_matches_the_api_with_cors_and_cache(client: FlaskClient, app: Flask) -> None:
    iid = _initiative(app)
    api = client.get(f"/v1/public/initiatives/{iid}").json
    data = client.get("/data/initiatives.json")
    assert data.headers["Access-Control-Allow-Origin"] == "*"
    assert data.headers["Cache-Control"] == "public, max-age=60"
    (item,) = data.json["initiatives"]
    assert item["counts"] == api["counts"] and item["id"] == api["id"]
    csv_lines = client.get("/data/initiatives.csv").get_data(as_text=True).splitlines()
    assert csv_lines[0].startswith("id,") and csv_lines[1].startswith(str(iid))
    feed = client.get("/feed.atom")
    assert feed.content_type.startswith("application/atom+xml")
    assert f"urn:uuid:{iid}" in feed.get_data(as_text=True)
    assert client.get(f"/data/initiatives/{uuid.uuid4()}.json").status_code == 404


def _signature_at(
    session: sa.orm.Session, initiative: uuid.UUID, platform: uuid.UUID, at: datetime, n: int
) -> None:
    session.add(
        Signature(
            initiative_id=initiative,
            platform_id=platform,
            dedup_key=uuid.uuid4().bytes * 2,
            eligibility=Eligibility.FOR_CVK,
            container_sha256="0" * 64,
            signing_time=at,
            given_name_enc=b"x",
            surname_enc=b"x",
            personal_code_enc=b"x",
            container_format="asice",
            leaf_index=n,
            created_at=at,
        )
    )


def test_signatures_per_day_are_riga_days_on_both_backends(app: Flask) -> None:
    iid = _initiative(app)
    with db.session_scope(app) as session:
        platform, _ = credentials.create_platform(session, services.log_service(app), "p", [iid])
        moments = [
            datetime(2026, 3, 1, 21, 59, tzinfo=UTC),  # 23:59 in Riga (EET): 1 March
            datetime(2026, 3, 1, 22, 0, tzinfo=UTC),  # 00:00 in Riga: 2 March
            datetime(2026, 7, 1, 20, 30, tzinfo=UTC),  # 23:30 in Riga (EEST): 1 July
            datetime(2026, 7, 1, 21, 0, tzinfo=UTC),  # 00:00 in Riga: 2 July
            datetime(2026, 7, 1, 21, 30, tzinfo=UTC),
        ]
        for n, moment in enumerate(moments):
            _signature_at(session, iid, platform.id, moment, 100 + n)
    with db.session_scope(app) as session:
        per_day = readmodel.signatures_per_day(session, iid)
    assert per_day == {
        date(2026, 3, 1): 1,
        date(2026, 3, 2): 1,
        date(2026, 7, 1): 1,
        date(2026, 7, 2): 2,
    }


# --- console session and CSRF -----------------------------------------------------------


def _login(client: FlaskClient, token: str) -> str:
    answer = client.post("/console/login", data={"token": token})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    page = client.get("/console/initiatives").get_data(as_text=True)
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_console_needs_a_session_and_the_csrf_token(
    client: FlaskClient, app: Flask, admin_token: str
) -> None:
    assert client.get("/console/initiatives").status_code == 401
    assert client.post("/console/login", data={"token": "sgadm_wrong"}).status_code == 401
    csrf = _login(client, admin_token)
    form = {
        "regime": "art22_bill",
        "registration_number": "C-1",
        "title": "T",
        "full_text": "x",
        "starts_on": "2026-12-01",
        "ends_on": "2027-01-01",
    }
    assert client.post("/console/initiatives", data=form).status_code == 403  # no token
    assert client.post("/console/initiatives", data={**form, "csrf": "x" * 43}).status_code == 403
    foreign = client.post(
        "/console/initiatives",
        data={**form, "csrf": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    with db.session_scope(app) as session:
        assert registry.list_initiatives(session) == []  # none of those changed anything
    done = client.post(
        "/console/initiatives", data={**form, "csrf": csrf}, headers={"Origin": "http://localhost"}
    )
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    with db.session_scope(app) as session:
        assert [i.registration_number for i in registry.list_initiatives(session)] == ["C-1"]


def test_console_session_ends_with_its_token_and_its_time(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.session_scope(app) as session:
        token = credentials.create_admin_token(session, services.log_service(app), "short-lived")[1]
    _login(client, token)
    assert client.get("/console/health").status_code == 200
    monkeypatch.setattr(console_session, "MAX_AGE_SECONDS", -1)  # every session is now too old
    assert client.get("/console/health").status_code == 401
    monkeypatch.undo()
    _login(client, token)
    with db.session_scope(app) as session:
        session.execute(sa.update(AdminToken).values(revoked_at=datetime.now(UTC)))
    assert client.get("/console/health").status_code == 401
    client.set_cookie("sigsvc_console", "forged.value.here", path="/console")
    assert client.get("/console/health").status_code == 401


def test_a_platform_key_is_never_cached(client: FlaskClient, app: Flask, admin_token: str) -> None:
    iid = _initiative(app)
    csrf = _login(client, admin_token)
    answer = client.post(
        "/console/platforms", data={"name": "p1", "initiative_ids": str(iid), "csrf": csrf}
    )
    assert answer.status_code == 200
    assert "sgpk_" in answer.get_data(as_text=True)
    assert answer.headers["Cache-Control"] == "no-store"
    assert "sgpk_" not in client.get("/console/platforms").get_data(as_text=True)


# --- pure parts ---------------------------------------------------------------------------


def test_chart_bars_scale_to_a_round_top_and_keep_empty_days() -> None:
    days = chart.days_between(date(2026, 3, 1), date(2026, 3, 10))
    drawn = chart.per_day_chart({date(2026, 3, 2): 7, date(2026, 3, 9): 3}, days)
    assert len(drawn.bars) == 10 and drawn.total == 10 and drawn.peak == 7
    tallest = max(drawn.bars, key=lambda b: b.height)
    assert tallest.day == date(2026, 3, 2)
    assert tallest.height == pytest.approx((chart.HEIGHT - chart.TOP - chart.BOTTOM) * 7 / 10)
    assert [b.count for b in drawn.bars].count(0) == 8
    assert drawn.y_ticks[-1].label == "10"
    assert all(
        b.x >= chart.LEFT and b.x + b.width <= chart.WIDTH - chart.RIGHT + 0.01 for b in drawn.bars
    )
    assert len(chart.days_between(date(2020, 1, 1), date(2026, 1, 1))) == chart.MAX_DAYS


def _figures(**changes: object) -> health.Figures:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    base = health.Figures(
        now=now,
        verification_time=now,
        intake_error=None,
        test_anchors=False,
        test_clock=False,
        trusted_lists=(health.TrustedList("LV", 42, now + timedelta(days=30), False),),
        log_size=10,
        checkpoint_size=10,
        checkpoint_cut_at=now - timedelta(hours=5),
        checkpoint_interval=2,
        rejections_last_hour={},
        batches_waiting=0,
        batches_unacknowledged=0,
        batches_due_for_purge=0,
        batch_seal_configured=True,
        handover_configured=True,
    )
    return _replace(base, **changes)


def _replace(figures: health.Figures, **changes: object) -> health.Figures:
    from dataclasses import replace

    return replace(figures, **changes)  # type: ignore[arg-type]


def test_health_is_quiet_when_all_is_well() -> None:
    assert health.findings(_figures()) == []


@pytest.mark.parametrize(
    ("changes", "level", "words"),
    [
        ({"intake_error": "SIGSVC_KEK_FILE: cannot read"}, "error", "SIGSVC_KEK_FILE"),
        (
            {
                "trusted_lists": (
                    health.TrustedList("LV", 42, datetime(2026, 12, 1, tzinfo=UTC), False),
                )
            },
            "error",
            "Trusted list LV",
        ),
        (
            {
                "trusted_lists": (
                    health.TrustedList("LV", 42, datetime(2026, 12, 5, tzinfo=UTC), False),
                )
            },
            "warning",
            "renewed by",
        ),
        ({"log_size": 12}, "error", "2 log entries"),
        ({"rejections_last_hour": {"REVOCATION_UNAVAILABLE": 3}}, "error", "OCSP"),
        ({"batches_due_for_purge": 1}, "warning", "retention"),
        ({"test_clock": True}, "warning", "TEST"),
        ({"handover_configured": False}, "warning", "SIGSVC_HANDOVER_URL"),
    ],
)
def test_health_says_what_is_wrong_and_what_to_do(
    changes: dict[str, object], level: str, words: str
) -> None:
    (finding,) = health.findings(_figures(**changes))
    assert finding.level == level
    assert words in finding.what[1] + finding.todo[1]
    assert finding.todo[0] and finding.todo[1]  # a fix, in both languages


def test_public_numbers_are_cached_briefly_and_the_cache_can_be_off(
    client: FlaskClient, app: Flask
) -> None:
    _initiative(app, "T-1")
    app.config["PAGES_CACHE_SECONDS"] = 60
    assert len(client.get("/data/initiatives.json").json["initiatives"]) == 1
    _initiative(app, "T-2")
    assert len(client.get("/data/initiatives.json").json["initiatives"]) == 1  # within 60 s
    assert "T-2" in client.get("/feed.atom").get_data(as_text=True)  # the feed reads rows
    app.config["PAGES_CACHE_SECONDS"] = 0
    assert len(client.get("/data/initiatives.json").json["initiatives"]) == 2


def test_console_cookie_is_secure_behind_tls(client: FlaskClient, admin_token: str) -> None:
    answer = client.post(
        "/console/login", data={"token": admin_token}, headers={"X-Forwarded-Proto": "https"}
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["Set-Cookie"]
    plain = client.post("/console/login", data={"token": admin_token})
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_console_key_is_shared_through_the_instance_folder_or_configured(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sigsvc.app import create_app

    monkeypatch.delenv("SIGSVC_CONSOLE_KEY_FILE", raising=False)
    monkeypatch.delenv("SIGSVC_CONSOLE_KEY", raising=False)
    first = create_app({"DATABASE_URL": "sqlite://"}, instance_path=str(tmp_path / "shared"))
    second = create_app({"DATABASE_URL": "sqlite://"}, instance_path=str(tmp_path / "shared"))
    key = console_session.console_key(first)
    assert len(key) == 32 and console_session.console_key(second) == key  # two workers agree
    assert (tmp_path / "shared" / "console.key").stat().st_mode & 0o077 == 0
    configured = tmp_path / "console.key"
    configured.write_bytes(b"\x07" * 32)
    configured.chmod(0o600)
    monkeypatch.setenv("SIGSVC_CONSOLE_KEY_FILE", str(configured))
    third = create_app({"DATABASE_URL": "sqlite://"}, instance_path=str(tmp_path / "other"))
    assert console_session.console_key(third) == b"\x07" * 32


def test_histogram_quantile_is_the_bucket_bound() -> None:
    from sigsvc.pages.counters import quantile

    buckets = [(0.01, 2.0), (0.05, 50.0), (0.1, 95.0), (0.5, 100.0), (float("inf"), 100.0)]
    assert quantile(buckets, 0.5) == 0.05
    assert quantile(buckets, 0.95) == 0.1
    assert quantile(buckets, 0.99) == 0.5
    assert quantile([], 0.5) is None
    assert quantile([(0.1, 0.0), (float("inf"), 0.0)], 0.5) is None


def test_console_revokes_a_platform_once(client: FlaskClient, app: Flask, admin_token: str) -> None:
    iid = _initiative(app)
    with db.session_scope(app) as session:
        platform, key = credentials.create_platform(
            session, services.log_service(app), "to-revoke", [iid]
        )
        pid = platform.id
    query = "given_name=A&surname=B&personal_code=321234-56789&date=2026-12-04"
    form = f"/v1/initiatives/{iid}/form?{query}"
    assert client.get(form, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    csrf = _login(client, admin_token)
    assert client.post(f"/console/platforms/{pid}/revoke", data={"csrf": csrf}).status_code == 200
    assert client.get(form, headers={"Authorization": f"Bearer {key}"}).status_code == 401
    again = client.post(f"/console/platforms/{pid}/revoke", data={"csrf": csrf})
    assert again.status_code == 409 and "ALREADY_REVOKED" in again.get_data(as_text=True)
    assert client.post(f"/console/platforms/{pid}/revoke").status_code == 403  # CSRF
