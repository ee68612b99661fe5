"""What the public pages show, read from the database: initiatives with counts, signatures
per day, the log's size and checkpoint history. Nothing here returns personal data: counts,
dates, checkpoint notes and the public log key only."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from audit.checkpoint import Checkpoint
from audit.errors import AuditError
from audit.note import parse as parse_note
from audit.strict import b64encode
from sigsvc import registry
from sigsvc.db.models import Initiative
from sigsvc.db.models.intake import CheckpointClock, Signature
from sigsvc.db.models.log import log_checkpoints
from sigsvc.log.storage import SqlLogStorage

RIGA = ZoneInfo("Europe/Riga")  # collection periods and "per day" are Riga calendar days
HISTORY_LENGTH = 20


@dataclass(frozen=True, slots=True)
class InitiativeView:
    id: str
    title: str
    registration_number: str
    regime: str
    regime_label: str
    starts_on: date
    ends_on: date
    status: str
    accepted: int
    withdrawn: int
    rejected: int
    rejected_by_reason: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "registration_number": self.registration_number,
            "regime": self.regime,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "status": self.status,
            "counts": {
                "accepted": self.accepted,
                "withdrawn": self.withdrawn,
                "rejected": self.rejected,
                "rejected_by_reason": dict(self.rejected_by_reason),
            },
        }


def _view(session: Session, initiative: Initiative) -> InitiativeView:
    counts = registry.signature_counts(session, initiative.id)
    return InitiativeView(
        id=str(initiative.id),
        title=initiative.title,
        registration_number=initiative.registration_number,
        regime=initiative.regime.value,
        regime_label=initiative.regime.label,
        starts_on=initiative.starts_on,
        ends_on=initiative.ends_on,
        status=initiative.status.value,
        accepted=int(counts["accepted"]),
        withdrawn=int(counts["withdrawn"]),
        rejected=int(counts["rejected"]),
        rejected_by_reason=dict(counts["rejected_by_reason"]),
    )


def initiatives(session: Session) -> list[InitiativeView]:
    return [_view(session, i) for i in registry.list_initiatives(session)]


def initiative(session: Session, initiative_id: uuid.UUID) -> InitiativeView | None:
    found = session.get(Initiative, initiative_id)
    return None if found is None else _view(session, found)


def _utc_hour(dialect: str) -> Any:
    column = Signature.created_at
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), sa.literal("YYYY-MM-DD HH24"))
    return sa.func.strftime("%Y-%m-%d %H", column)  # SQLite stores UTC text


def signatures_per_day(session: Session, initiative_id: uuid.UUID) -> dict[date, int]:
    """Signatures accepted per Europe/Riga day (counted when accepted; withdrawn ones too,
    since a withdrawal does not undo the day's signing). Grouped by UTC hour in SQL (both
    backends agree on that), then the hours folded into Riga days here: Riga's offset is a
    whole number of hours, so no hour straddles two Riga days."""
    hour = _utc_hour(session.get_bind().dialect.name)
    rows = session.execute(
        sa.select(hour, sa.func.count())
        .where(Signature.initiative_id == initiative_id)
        .group_by(hour)
    ).all()
    days: Counter[date] = Counter()
    for text, count in rows:
        moment = datetime.strptime(str(text), "%Y-%m-%d %H").replace(tzinfo=UTC)
        days[moment.astimezone(RIGA).date()] += int(count)
    return dict(sorted(days.items()))


@dataclass(frozen=True, slots=True)
class CheckpointView:
    seq: int
    size: int
    root_b64: str
    cut_at: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class LogView:
    size: int
    latest: CheckpointView | None
    history: tuple[CheckpointView, ...]  # newest first
    checkpoints: int

    def age(self, now: datetime) -> timedelta | None:
        if self.latest is None or self.latest.cut_at is None:
            return None
        return now - self.latest.cut_at


def _checkpoint_view(seq: int, note: bytes, cut_at: datetime | None) -> CheckpointView:
    try:
        checkpoint = Checkpoint.from_text(parse_note(note).text)
        size, root = checkpoint.size, b64encode(checkpoint.root)
    except AuditError:
        size, root = -1, "?"
    return CheckpointView(seq, size, root, cut_at, note.decode("utf-8", "replace"))


def log_view(session: Session, history: int = HISTORY_LENGTH) -> LogView:
    rows = session.execute(
        sa.select(log_checkpoints.c.seq, log_checkpoints.c.note, CheckpointClock.cut_at)
        .outerjoin(CheckpointClock, CheckpointClock.seq == log_checkpoints.c.seq)
        .order_by(log_checkpoints.c.seq.desc())
        .limit(history)
    ).all()
    views = tuple(
        _checkpoint_view(int(seq), bytes(note), _aware(cut_at)) for seq, note, cut_at in rows
    )
    total = session.scalar(sa.select(sa.func.count()).select_from(log_checkpoints)) or 0
    return LogView(
        size=SqlLogStorage(session).size(),
        latest=views[0] if views else None,
        history=views,
        checkpoints=int(total),
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:  # SQLite through a join: naive UTC
        return moment.replace(tzinfo=UTC)
    return moment
