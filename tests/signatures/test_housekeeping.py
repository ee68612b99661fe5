"""Housekeeping: idempotency answers past their retention and spent rate-limit state are
deleted by `sigsvc housekeeping` and by the workers' periodic job; fresh ones stay."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sigsvc import db, housekeeping
from sigsvc.cli import cli
from sigsvc.db.models.idempotency import idempotency_keys
from sigsvc.db.models.ratelimit import rate_limit_state
from sigsvc.intake import idempotency
from tests.signatures.conftest import post


@pytest.fixture
def intake_overrides() -> dict[str, Any]:
    return {"RATE_SIGNER": "0.1/5"}  # one post keeps the signer's state for 10 s


def _old_answer(app, age: timedelta) -> None:
    stored = idempotency.StoredResponse(201, "application/json", b"{}\n")
    with db.engine_of(app).begin() as conn:
        idempotency.remember(
            conn, "old-platform", "old-key", b"\0" * 32, stored, datetime.now(UTC) - age
        )


def _keys(app) -> set[str]:
    with db.engine_of(app).connect() as conn:
        return set(conn.execute(sa.select(idempotency_keys.c.key)).scalars())


def _limited(app) -> list[str]:
    with db.engine_of(app).connect() as conn:
        return list(conn.execute(sa.select(rate_limit_state.c.key)).scalars())


def test_command_purges_what_is_past_retention(app, client, initiative, container):
    answered = post(client, initiative, container("valid_p384"), key="fresh-key")
    assert answered.status_code == 201
    _old_answer(app, timedelta(hours=169))
    assert _keys(app) == {"fresh-key", "old-key"}
    time.sleep(0.05)  # the platform's state (100/s) is spent; the signer's (1 per 6 s) is not
    result = app.test_cli_runner().invoke(cli, ["housekeeping"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["idempotency_answers"] == 1
    assert counts["rate_limit_keys"] >= 1
    assert _keys(app) == {"fresh-key"}
    assert [k.split(":")[0] for k in _limited(app)] == ["signer"]
    again = post(client, initiative, container("valid_p384"), key="fresh-key")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"


def test_the_periodic_job_runs_by_itself(app):
    _old_answer(app, timedelta(days=30))
    app.config["HOUSEKEEPING_INTERVAL"] = 0.1
    job = housekeeping.start(app)
    try:
        deadline = time.monotonic() + 20
        while "old-key" in _keys(app) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        job.stop()
    assert "old-key" not in _keys(app)
