"""Housekeeping: idempotency answers past their retention and spent rate-limit state (the
workers' memory and the signer limit's rows in the database) are deleted by `sigsvc
housekeeping` and by the workers' periodic job; fresh ones stay."""

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


def _spent_signer_state(app) -> None:
    """A signer's row whose limit ran out a minute ago (it signed long before)."""
    spent = round((time.time() - 60) * 1_000_000)
    with db.engine_of(app).begin() as conn:
        conn.execute(sa.insert(rate_limit_state).values(key="signer:" + "ab" * 32, tat_us=spent))


def test_command_purges_what_is_past_retention(app, client, initiative, container):
    answered = post(client, initiative, container("valid_p384"), key="fresh-key")
    assert answered.status_code == 201
    _old_answer(app, timedelta(hours=169))
    _spent_signer_state(app)
    assert _keys(app) == {"fresh-key", "old-key"}
    assert len(_limited(app)) == 2  # the signer who just signed, and the spent one
    time.sleep(0.05)  # the platform's state (100/s) is spent; the signer's (1 per 6 s) is not
    result = app.test_cli_runner().invoke(cli, ["housekeeping"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.stdout)
    assert counts["idempotency_answers"] == 1
    assert counts["rate_limit_keys"] >= 2  # the platform's (in memory) and the spent signer's
    assert _keys(app) == {"fresh-key"}
    (kept,) = _limited(app)  # the signer who just signed still has a limit running
    assert kept.startswith("signer:") and kept != "signer:" + "ab" * 32
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
