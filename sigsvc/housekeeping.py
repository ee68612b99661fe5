"""Housekeeping: delete what only served a retry window or no longer limits anyone.

- Idempotency answers older than SIGSVC_IDEMPOTENCY_RETENTION_HOURS (default 168 h, 7 days):
  long enough for a platform to retry through a weekend outage; after that a retried POST is
  a new request (the signature's dedup still refuses a second record of the same person).
- Rate-limit state whose theoretical arrival time has passed (equivalent to no state).

Run by `sigsvc housekeeping` and by every worker every SIGSVC_HOUSEKEEPING_INTERVAL seconds
(default 3600; `start` is called by sigsvc.web.serve). Both deletes are idempotent, so workers
running them at the same time do no harm; nothing in the audit log or the signature records is
touched.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from flask import Flask

from sigsvc import db, services
from sigsvc.intake import idempotency
from sigsvc.intake.ratelimit import RateLimiter

log = structlog.get_logger("sigsvc.housekeeping")


@dataclass(frozen=True)
class Purged:
    idempotency_answers: int
    rate_limit_keys: int | None  # None: intake (and so the limiter) is not configured


def purge(
    engine: sa.Engine, limiter: RateLimiter | None, now: datetime, retention: timedelta
) -> Purged:
    with engine.begin() as conn:
        answers = idempotency.purge_before(conn, now - retention)
        keys = None if limiter is None else limiter.prune(conn)
    return Purged(answers, keys)


def run(app: Flask) -> Purged:
    """One pass with the app's configuration, clock and limiter."""
    try:
        found: services.Services | None = services.get(app)
    except services.IntakeConfigError:
        found = None
    retention = timedelta(hours=int(app.config["IDEMPOTENCY_RETENTION_HOURS"]))
    now = services.log_service(app).clock()
    done = purge(db.engine_of(app), None if found is None else found.limiter, now, retention)
    log.info(
        "housekeeping",
        idempotency_answers=done.idempotency_answers,
        rate_limit_keys=done.rate_limit_keys,
    )
    return done


class Job:
    """The periodic pass of one process (a daemon thread)."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sigsvc-housekeeping", daemon=True)

    def _loop(self) -> None:
        interval = float(self._app.config["HOUSEKEEPING_INTERVAL"])
        wait = random.uniform(0, interval)  # noqa: S311 - spreading workers, not security
        while not self._stop.wait(wait):
            try:
                run(self._app)
            except Exception as exc:  # a database hiccup must not end the loop
                log.warning("housekeeping_failed", exc_type=type(exc).__name__)
            wait = interval

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


def start(app: Flask) -> Job:
    """Run `run(app)` every HOUSEKEEPING_INTERVAL seconds, the first time after a random part
    of the interval (workers started together spread out)."""
    job = Job(app)
    job._thread.start()
    return job
