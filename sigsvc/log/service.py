"""The service's one way to write the audit log: `LogService`, bound once to the log's origin,
its signing key, the checkpoint interval and the clock.

Every write (intake, registry, batches, handover, retention) appends in the caller's transaction
under the log lock; checkpoints are cut here and nowhere else.

Checkpoint policy: cut when entries are uncovered and the newest checkpoint is older than the
interval, checked after every intake write (under the log lock, in the same transaction) and
on reads that need one (receipt, /v1/log/checkpoint); a batch asks for a checkpoint that covers
the whole log. Why not a background thread: with several gunicorn workers (and hosts) every
process would run one, they would race, and a worker that is recycled or killed takes its timer
along. Under the log lock the cut is serialised by the database, so any number of workers
produce one linear checkpoint history, traffic keeps the checkpoints fresh, and an idle log
needs none.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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


class LogKeyMissing(Exception):
    """A checkpoint was asked of a LogService built without the log's signing key."""


@dataclass(frozen=True)
class LogService:
    origin: str
    signer: NoteSigner | None  # None: append only (the registry works before intake is configured)
    interval: float  # seconds between checkpoints while entries are uncovered
    clock: Callable[[], datetime]

    def log(self, session: Session) -> Log:
        """The log over the caller's transaction, for reads and proofs (no lock taken)."""
        return Log(SqlLogStorage(session), self.origin)

    def lock(self, session: Session) -> SqlLogStorage:
        """The storage with the log's write lock held until the caller's transaction ends."""
        storage = SqlLogStorage(session)
        storage.lock()
        return storage

    def now(self, session: Session) -> datetime:
        """Take the log lock, then read the clock: the time to date this transaction's events
        by. Dated before the lock, an event could follow one of a transaction that got the
        lock first with a later time, and the log refuses times that go backwards."""
        self.lock(session)
        return self.clock()

    def append(self, session: Session, batch: Sequence[events.Event]) -> range:
        """Lock the log and append `batch`; the caller's transaction commits it with its
        records. The log refuses an event dated before the previous one or beyond this
        clock plus audit.log.MAX_CLOCK_SKEW: date events with `now(session)`."""
        return Log(self.lock(session), self.origin).append_events(batch, now=self.clock())

    def latest_checkpoint(self, session: Session) -> bytes | None:
        latest = SqlLogStorage(session).latest_checkpoint()
        return None if latest is None else latest[1]

    def cut_if_due(self, session: Session) -> bool:
        """Sign a checkpoint of the current tree if entries are uncovered and the newest one is
        older than the interval (or there is none). Takes the log lock; the caller commits."""
        storage = SqlLogStorage(session)
        latest = storage.latest_checkpoint()
        if latest is not None and latest[0] >= storage.size():
            return False  # cheap check without the lock first
        storage.lock()
        latest = storage.latest_checkpoint()
        if latest is not None and latest[0] >= storage.size():
            return False
        now = self.clock()
        last_cut = session.scalar(sa.select(sa.func.max(CheckpointClock.cut_at)))
        if latest is not None and last_cut is not None:
            if last_cut.tzinfo is None:  # SQLite returns naive values from aggregates
                last_cut = last_cut.replace(tzinfo=UTC)
            if (now - last_cut).total_seconds() < self.interval:
                return False
        self._cut(session, storage, now)
        return True

    def covering_checkpoint(self, session: Session) -> bytes:
        """The newest checkpoint if it covers the whole log, else a fresh one (takes the log
        lock; the caller commits)."""
        storage = self.lock(session)
        latest = storage.latest_checkpoint()
        if latest is not None and latest[0] == storage.size():
            return latest[1]
        return self._cut(session, storage, self.clock())

    def receipt(self, session: Session, index: int) -> str | None:
        """tlog-proof receipt of leaf `index`, cutting a checkpoint first when one is due
        (committed then); None while no checkpoint covers the leaf."""
        latest = SqlLogStorage(session).latest_checkpoint()
        if latest is None or latest[0] <= index:
            cut = self.cut_if_due(session)
            session.commit()
            if not cut:
                return None
        return self.log(session).receipt(index).decode("utf-8")

    def rotate_key(
        self, session: Session, new: NoteSigner, at: datetime | None = None
    ) -> tuple[bytes, int]:
        """Log ``key.rotated`` and a checkpoint signed by the current and the new key (the
        caller commits); the checkpoint note and the event's index. Dated under the log lock
        unless `at` is given (tests)."""
        if self.signer is None:
            raise LogKeyMissing("no log signing key: set SIGSVC_LOG_KEY_FILE")
        storage = self.lock(session)
        at = at or self.clock()
        seq = session.scalar(sa.select(sa.func.count()).select_from(log_checkpoints)) or 0
        index = storage.size()
        note = Log(storage, self.origin).rotate_key(at, self.signer, new, now=self.clock())
        session.add(CheckpointClock(seq=seq, cut_at=at))
        session.flush()
        return note, index

    def _cut(self, session: Session, storage: SqlLogStorage, now: datetime) -> bytes:
        if self.signer is None:
            raise LogKeyMissing("no log signing key: set SIGSVC_LOG_KEY_FILE")
        seq = session.scalar(sa.select(sa.func.count()).select_from(log_checkpoints)) or 0
        note = Log(storage, self.origin).checkpoint([self.signer])
        session.add(CheckpointClock(seq=seq, cut_at=now))
        session.flush()
        return note
