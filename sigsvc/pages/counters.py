"""Event counters for the health page, read from the service's Prometheus metrics
(sigsvc.metrics; every gunicorn worker's in multiprocess mode). They count since the metrics
started (the process, or the multiprocess directory), not per hour: the page says so."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

INTAKE_ROUTE = "/v1/initiatives/<uuid:initiative_id>/signatures"


@dataclass(frozen=True, slots=True)
class Counters:
    rate_limit_denials: int
    fetch_errors: dict[str, int]
    intake_requests: int
    intake_p50_seconds: float | None
    intake_p95_seconds: float | None


def _families() -> Iterable[Any]:
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call,unused-ignore]
        return list(registry.collect())
    return list(REGISTRY.collect())


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """Upper bound of the histogram bucket holding quantile `q` (cumulative counts, sorted)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    wanted = q * buckets[-1][1]
    for bound, count in buckets:
        if count >= wanted:
            return bound
    return buckets[-1][0]


def read() -> Counters | None:
    """The counters, or None when this deployment keeps no metrics."""
    try:
        families = list(_families())
    except ImportError:
        return None
    if not any(family.name.startswith("sigsvc_") for family in families):
        return None  # prometheus_client is there, but this service records nothing into it
    denials = 0
    fetch_errors: dict[str, int] = {}
    buckets: dict[float, float] = {}
    requests = 0
    for family in families:
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "sigsvc_rate_limit_denials_total":
                denials += int(value)
            elif name == "sigsvc_fetch_errors_total":
                kind = labels.get("kind", "?")
                fetch_errors[kind] = fetch_errors.get(kind, 0) + int(value)
            elif labels.get("route") == INTAKE_ROUTE and labels.get("method") == "POST":
                if name == "sigsvc_http_request_duration_seconds_bucket":
                    bound = float(labels["le"])
                    buckets[bound] = buckets.get(bound, 0) + value
                elif name == "sigsvc_http_request_duration_seconds_count":
                    requests += int(value)
    ordered = sorted(buckets.items())
    return Counters(
        rate_limit_denials=denials,
        fetch_errors=fetch_errors,
        intake_requests=requests,
        intake_p50_seconds=quantile(ordered, 0.5),
        intake_p95_seconds=quantile(ordered, 0.95),
    )
