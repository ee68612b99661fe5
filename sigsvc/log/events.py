"""Intake's use of the audit log (sigsvc.log.storage): append events in the caller's transaction,
cut checkpoints when due, ids that the log accepts.

Checkpoint policy: cut when entries are uncovered and the newest checkpoint is older than the
interval, checked after every intake write (under the log lock, in the same transaction) and
on reads that need one (receipt, /v1/log/checkpoint). Why not a background thread: with several
gunicorn workers (and hosts) every process would run one, they would race, and a worker that
is recycled or killed takes its timer along. Under the log lock the cut is serialised by the
database, so any number of workers produce one linear checkpoint history, traffic keeps the
checkpoints fresh, and an idle log needs none.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from audit import events
from audit.log import Log
from audit.note import NoteSigner
from sigsvc.db.models.intake import CheckpointClock
from sigsvc.db.models.log import log_checkpoints
from sigsvc.log.storage import SqlLogStorage

_PERSONAL_CODE_LIKE = re.compile(events.KINDS["id"]["not"]["pattern"])


def log_safe_uuid() -> uuid.UUID:
    """A random UUID that audit.events accepts as an id.

    Log ids must not contain anything shaped like a personal code (11 digits, optionally
    DDMMYY-NNNNN); about 1 % of random UUIDs have 11 consecutive decimal digits in the last
    group. Such UUIDs are drawn again (the id stays uniformly random among the rest).
    """
    while True:
        candidate = uuid.uuid4()
        if _PERSONAL_CODE_LIKE.search(str(candidate)) is None:
            return candidate


def locked_storage(session: Session) -> SqlLogStorage:
    """The log storage with its write lock taken for the rest of the transaction."""
    storage = SqlLogStorage(session)
    storage.lock()
    return storage


def append_events(session: Session, origin: str, batch: Sequence[events.Event]) -> range:
    """Lock the log and append `batch`; the caller's transaction commits it with its records."""
    return Log(locked_storage(session), origin).append_events(batch)


def cut_checkpoint_if_due(
    session: Session, origin: str, signer: NoteSigner, now: datetime, max_age_seconds: float
) -> bool:
    """Sign a checkpoint of the current tree if entries are uncovered and the newest one is
    older than `max_age_seconds` (or there is none). Takes the log lock; caller commits."""
    storage = SqlLogStorage(session)
    latest = storage.latest_checkpoint()
    if latest is not None and latest[0] >= storage.size():
        return False  # cheap check without the lock first
    storage.lock()
    size = storage.size()
    latest = storage.latest_checkpoint()
    if latest is not None and latest[0] >= size:
        return False
    last_cut = session.scalar(sa.select(sa.func.max(CheckpointClock.cut_at)))
    if latest is not None and last_cut is not None:
        if last_cut.tzinfo is None:  # SQLite returns naive values from aggregates
            from datetime import UTC

            last_cut = last_cut.replace(tzinfo=UTC)
        if (now - last_cut).total_seconds() < max_age_seconds:
            return False
    seq = session.scalar(sa.select(sa.func.count()).select_from(log_checkpoints)) or 0
    Log(storage, origin).checkpoint([signer])
    session.add(CheckpointClock(seq=seq, cut_at=now))
    session.flush()
    return True
