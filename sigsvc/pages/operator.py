"""The console's operator actions: the same service-layer calls the admin API and the CLI make
(one place to follow when the service layer moves). Each returns plain values or raises one of
REFUSALS, which `refusal()` turns into (code, message) for the page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.db.models import Initiative, Platform
from sigsvc.db.models.batches import Batch, BatchStatus
from sigsvc.export import batches, handover, retention
from sigsvc.log.service import LogService
from sigsvc.refusal import Refusal
from sigsvc.web.errors import ApiError

REFUSALS: tuple[type[Exception], ...] = (
    Refusal,
    handover.HandoverError,
    services.IntakeConfigError,
)
# The console answers while the operator waits: a short push; the CLI keeps the long one.
CONSOLE_PUSH = handover.PushPolicy(attempts=3, base_delay=0.5, timeout=60.0)


def refusal(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, Refusal):
        return exc.code, exc.message
    if isinstance(exc, services.IntakeConfigError):
        return "INTAKE_NOT_CONFIGURED", str(exc)
    return "HANDOVER_FAILED", str(exc)


def register(session: Session, log: LogService, form: dict[str, str]) -> Initiative:
    try:
        regime = Regime(form.get("regime", ""))
        starts_on = date.fromisoformat(form.get("starts_on", ""))
        ends_on = date.fromisoformat(form.get("ends_on", ""))
    except ValueError as exc:
        raise ApiError("INVALID_FIELD", "choose a type and give both dates as YYYY-MM-DD") from exc
    text = form.get("full_text", "").replace("\r\n", "\n")
    if not text.strip():
        raise ApiError("INVALID_FIELD", "/full_text: the initiative's text is required")
    return registry.register_initiative(
        session,
        log,
        registry.NewInitiative(
            regime=regime,
            registration_number=form.get("registration_number", ""),
            title=form.get("title", ""),
            full_text=text,
            starts_on=starts_on,
            ends_on=ends_on,
        ),
    )


def close(session: Session, log: LogService, initiative_id: uuid.UUID) -> Initiative:
    return registry.close_initiative(session, log, initiative_id)


def initiatives(session: Session) -> list[Initiative]:
    return registry.list_initiatives(session)


def platforms(session: Session) -> list[Platform]:
    return credentials.list_platforms(session)


def create_platform(
    session: Session, log: LogService, name: str, initiative_ids: list[str]
) -> tuple[Platform, str]:
    try:
        ids = [uuid.UUID(i) for i in initiative_ids]
    except ValueError as exc:
        raise ApiError("INVALID_FIELD", "/initiative_ids: not an initiative id") from exc
    if not name.strip():
        raise ApiError("INVALID_FIELD", "/name: required")
    if not ids:
        raise ApiError("INVALID_FIELD", "/initiative_ids: choose at least one initiative")
    return credentials.create_platform(session, log, name.strip(), ids)


def revoke_platform(session: Session, log: LogService, platform_id: uuid.UUID) -> Platform:
    return credentials.revoke_platform(session, log, platform_id)


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: str
    initiative_id: str
    sequence: int
    status: str
    count: int
    checkpoint_size: int
    created_at: datetime
    acknowledged_at: datetime | None
    purge_due: datetime | None


def batch_rows(session: Session, retention_days: int) -> list[BatchRow]:
    rows = session.scalars(sa.select(Batch).order_by(Batch.sequence.desc())).all()
    return [
        BatchRow(
            id=b.id,
            initiative_id=str(b.initiative_id),
            sequence=b.sequence,
            status=b.status.value,
            count=b.count,
            checkpoint_size=b.checkpoint_size,
            created_at=b.created_at,
            acknowledged_at=b.acknowledged_at,
            purge_due=(
                b.acknowledged_at + timedelta(days=retention_days)
                if b.acknowledged_at is not None and b.status is BatchStatus.ACKNOWLEDGED
                else None
            ),
        )
        for b in rows
    ]


def create_batch(app: Flask, initiative_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    return batches.export(app, services.get(app), initiative_id, now)


def push_batch(app: Flask, batch_id: str) -> dict[str, Any]:
    return handover.push(app, services.get(app), batch_id, policy=CONSOLE_PUSH)


def acknowledge(app: Flask, session: Session, batch_id: str, note: bytes, now: datetime) -> Batch:
    key = handover.receiver_key(app)
    return handover.acknowledge(session, services.get(app), key, batch_id, note, now)


def purge(app: Flask, now: datetime) -> list[dict[str, Any]]:
    """Retention runs in short transactions of its own (intake goes on meanwhile)."""
    days = int(app.config["RETENTION_DAYS"])
    return retention.purge(db.sessions_of(app), services.get(app), now, days)
