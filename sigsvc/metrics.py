"""Prometheus metrics (prometheus_client; multiprocess mode under gunicorn).

Counters and histograms are recorded where things happen, through the few functions below, so
hooks in the request path stay one line each. Values that are state, not events (log size,
checkpoint age, trusted-list time to NextUpdate, batches by state), are read from the database
and the trust store at scrape time (`sigsvc.api.metrics`).

prometheus_client picks single- or multi-process storage when it is first imported, from
PROMETHEUS_MULTIPROC_DIR; `sigsvc serve` sets that before any worker starts, so this module
imports it lazily (the gunicorn master never records anything).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Seconds: intake waits on OCSP/TSA fetches (up to 10 s) and verification is ~10-50 ms.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
INTAKE_ROUTES = {
    "/v1/initiatives/<uuid:initiative_id>/signatures": "signature",
    "/v1/initiatives/<uuid:initiative_id>/withdrawals": "withdrawal",
}


_LOCK = threading.Lock()
_MADE: dict[str, Any] = {}


def _metrics() -> dict[str, Any]:
    """The metric objects, made once per process on first use (threads race for it: a metric
    registered twice is an error in prometheus_client)."""
    if not _MADE:
        with _LOCK:
            if not _MADE:
                _MADE.update(_make())
    return _MADE


def _make() -> dict[str, Any]:
    from prometheus_client import Counter, Gauge, Histogram

    return {
        "requests": Histogram(
            "sigsvc_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
        ),
        "intake": Counter(
            "sigsvc_intake",
            "Signature and withdrawal posts by outcome (accepted, rejected, replayed, refused) "
            "and reason code",
            ["kind", "outcome", "reason"],
        ),
        "verification": Histogram(
            "sigsvc_verification_duration_seconds",
            "Time of one crypto.verify call (including revocation fetches)",
            buckets=LATENCY_BUCKETS,
        ),
        "rate_limited": Counter(
            "sigsvc_rate_limit_denials", "Requests answered 429 RATE_LIMITED", ["route"]
        ),
        "fetch_errors": Counter(
            "sigsvc_fetch_errors", "Outbound fetches (OCSP, CRL, TSA, lists) that failed", ["kind"]
        ),
        "group_lock": Histogram(
            "sigsvc_intake_group_lock_held_seconds",
            "Time an intake group transaction held the log lock (taken to committed)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
        ),
        "group_jobs": Counter(
            "sigsvc_intake_group_jobs", "Requests handled by intake group transactions"
        ),
        "clock_skew": Gauge(
            "sigsvc_clock_skew_seconds",
            "Last measured offset of a fetched answer's Date header from this server's clock "
            "(positive: this clock is behind; sigsvc.clockskew)",
            multiprocess_mode="mostrecent",
        ),
    }


def request_finished(
    route: str | None, method: str, status: int, error_code: str | None, seconds: float,
    replayed: bool,
) -> None:  # fmt: skip
    metrics = _metrics()
    metrics["requests"].labels(route or "unmatched", method, str(status)).observe(seconds)
    if error_code == "RATE_LIMITED":
        metrics["rate_limited"].labels(route or "unmatched").inc()
    kind = INTAKE_ROUTES.get(route or "")
    if kind is None or method != "POST":
        return
    if replayed:
        outcome, reason = "replayed", ""
    elif status in (200, 201):
        outcome, reason = "accepted", ""
    elif status in (409, 422) and error_code:
        outcome, reason = "rejected", error_code  # a verdict: DESIGN.md reason vocabulary
    else:
        outcome, reason = "refused", error_code or str(status)  # not judged: auth, 429, 503
    metrics["intake"].labels(kind, outcome, reason).inc()


@contextmanager
def verification_timer() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        _metrics()["verification"].observe(time.perf_counter() - started)


def group_committed(jobs: int, held_seconds: float) -> None:
    """One intake group transaction (sigsvc.intake.writer): its jobs and how long it held the
    log lock (the bench divides the two to compare designs)."""
    metrics = _metrics()
    metrics["group_lock"].observe(held_seconds)
    metrics["group_jobs"].inc(jobs)


def fetch_failed(kind: str) -> None:
    _metrics()["fetch_errors"].labels(kind).inc()


def clock_skew(seconds: float) -> None:
    _metrics()["clock_skew"].set(seconds)
