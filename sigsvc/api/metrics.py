"""GET /metrics: Prometheus text format, behind the admin token (scrape with
`authorization: {credentials: <admin token>}`). Event counters come from every gunicorn worker
(multiprocess mode); state gauges are read here, at scrape time."""

from __future__ import annotations

import os
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, current_app

from sigsvc import db, services
from sigsvc.db.models import utcnow
from sigsvc.db.models.batches import Batch, BatchStatus
from sigsvc.db.models.intake import CheckpointClock
from sigsvc.log.storage import SqlLogStorage
from sigsvc.web.endpoints import endpoint

bp = Blueprint("metrics", __name__)


def _events() -> bytes:
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _state(now: datetime) -> bytes:
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    session = db.session()
    log_size = Gauge("sigsvc_log_entries", "Entries in the audit log", registry=registry)
    log_size.set(SqlLogStorage(session).size())
    latest = session.scalar(  # typed column, not max(): SQLite keeps times as text
        sa.select(CheckpointClock.cut_at).order_by(CheckpointClock.seq.desc()).limit(1)
    )
    age = Gauge(
        "sigsvc_checkpoint_age_seconds",
        "Seconds since the latest checkpoint was cut (absent before the first)",
        registry=registry,
    )
    if latest is not None:
        age.set((now - latest).total_seconds())
    batches = Gauge("sigsvc_batches", "Batches by state", ["state"], registry=registry)
    query = sa.select(Batch.status, sa.func.count()).group_by(Batch.status)
    counts = {status: count for status, count in session.execute(query)}
    for state in BatchStatus:
        batches.labels(state.value).set(counts.get(state, 0))
    session.rollback()
    next_update = Gauge(
        "sigsvc_trusted_list_next_update_seconds",
        "Seconds until a trusted list's NextUpdate (negative: past it; fetch the current list)",
        ["territory", "sequence"],
        registry=registry,
    )
    try:
        intake = services.get(current_app._get_current_object())  # type: ignore[attr-defined]
    except services.IntakeConfigError:
        intake = None
    for info in intake.trust.lists if intake is not None else ():
        if info.next_update is not None:
            left = (info.next_update - intake.verification_time()).total_seconds()  # type: ignore[union-attr]
            next_update.labels(info.territory or "", str(info.sequence)).set(left)
    return generate_latest(registry)


@endpoint(
    bp,
    "/metrics",
    methods=["GET"],
    auth="admin",
    responses={200: None},
    media_type="text/plain; version=0.0.4; charset=utf-8",
    summary="Prometheus metrics: intake by outcome and reason, latencies, verification time, "
    "log size, checkpoint age, trusted-list time to NextUpdate, batches by state, rate-limit "
    "denials, fetch errors by kind.",
)
def metrics() -> Response:
    body = _events() + _state(utcnow())
    return Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
