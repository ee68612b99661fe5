"""The audit log on the service's database: audit.storage.LogStorage over SQL tables.

Every writer calls :func:`lock` first in its transaction. It updates the single `log_head`
row, so appends and checkpoint cuts from any number of gunicorn workers are serialised by the
database (PostgreSQL row lock; SQLite takes its write lock) and the tree never forks. The
appended leaves commit or roll back together with the signature record they describe.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from audit import events
from audit.errors import StorageError
from audit.log import Log
from audit.merkle import Node
from audit.note import Signer
from sigsvc.models.intake import LogCheckpoint, LogEntry, LogHead, LogNode

HEAD_ID = 1
_entries = sa.Table("log_entries", LogEntry.metadata, extend_existing=True)
_nodes = sa.Table("log_nodes", LogNode.metadata, extend_existing=True)
_cps = sa.Table("log_checkpoints", LogCheckpoint.metadata, extend_existing=True)
_head = sa.Table("log_head", LogHead.metadata, extend_existing=True)


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


def lock(conn: sa.Connection) -> int:
    """Take the log's write lock for this transaction; returns the tree size."""
    updated = conn.execute(
        sa.update(_head)
        .where(_head.c.id == HEAD_ID)
        .values(size=_head.c.size)
        .returning(_head.c.size)
    ).first()
    if updated is None:  # first use: the row is created (the racing loser fails and retries)
        conn.execute(sa.insert(_head).values(id=HEAD_ID, size=0))
        return 0
    return int(updated[0])


class SqlLogStorage:
    """LogStorage inside the caller's transaction (`conn`); the caller commits."""

    def __init__(self, conn: sa.Connection, now: datetime | None = None) -> None:
        self.conn = conn
        self.now = now

    def size(self) -> int:
        value = self.conn.execute(sa.select(_head.c.size).where(_head.c.id == HEAD_ID)).scalar()
        return int(value or 0)

    def append(
        self,
        start: int,
        entries: Sequence[tuple[bytes, bytes]],
        nodes: Sequence[tuple[Node, bytes]],
    ) -> None:
        if start != self.size():
            raise StorageError(f"append at {start} but the log has {self.size()} entries")
        if not entries:
            return
        self.conn.execute(
            sa.insert(_entries),
            [{"idx": start + i, "data": data} for i, (data, _) in enumerate(entries)],
        )
        rows = [{"level": 0, "idx": start + i, "hash": h} for i, (_, h) in enumerate(entries)]
        rows += [{"level": n.level, "idx": n.index, "hash": h} for n, h in nodes]
        self.conn.execute(sa.insert(_nodes), rows)
        self.conn.execute(
            sa.update(_head).where(_head.c.id == HEAD_ID).values(size=start + len(entries))
        )

    def entries(self, start: int, end: int) -> Sequence[bytes]:
        if not 0 <= start <= end <= self.size():
            raise StorageError(f"entries [{start}, {end}) outside the log")
        rows = self.conn.execute(
            sa.select(_entries.c.data)
            .where(_entries.c.idx >= start, _entries.c.idx < end)
            .order_by(_entries.c.idx)
        ).all()
        return [bytes(r[0]) for r in rows]

    def node_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        if not nodes:
            return []
        wanted = sorted({(n.level, n.index) for n in nodes})
        rows = self.conn.execute(
            sa.select(_nodes.c.level, _nodes.c.idx, _nodes.c.hash).where(
                sa.tuple_(_nodes.c.level, _nodes.c.idx).in_(wanted)
            )
        )
        found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
        try:
            return [found[(n.level, n.index)] for n in nodes]
        except KeyError:
            raise StorageError("node not complete in this log") from None

    def add_checkpoint(self, size: int, note: bytes) -> None:
        latest = self.latest_checkpoint()
        if size > self.size() or (latest is not None and size < latest[0]):
            raise StorageError("checkpoint size out of order")
        seq = self.conn.execute(sa.select(sa.func.count()).select_from(_cps)).scalar() or 0
        if self.now is None:
            raise StorageError("checkpoint time not given")
        self.conn.execute(
            sa.insert(_cps).values(seq=seq, size=size, note=note, created_at=self.now)
        )

    def checkpoints(self, start: int = 0) -> Sequence[tuple[int, bytes]]:
        rows = self.conn.execute(
            sa.select(_cps.c.size, _cps.c.note).where(_cps.c.seq >= start).order_by(_cps.c.seq)
        ).all()
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        row = self.latest_row()
        return None if row is None else (row[0], row[1])

    def latest_row(self) -> tuple[int, bytes, datetime] | None:
        row = self.conn.execute(
            sa.select(_cps.c.size, _cps.c.note, _cps.c.created_at)
            .order_by(_cps.c.seq.desc())
            .limit(1)
        ).first()
        if row is None:
            return None
        return int(row[0]), bytes(row[1]), row[2]


def append_events(conn: sa.Connection, origin: str, batch: Sequence[events.Event]) -> range:
    """Lock the log and append `batch`; the caller's transaction commits it."""
    lock(conn)
    return Log(SqlLogStorage(conn), origin).append_events(batch)


def cut_checkpoint_if_due(
    conn: sa.Connection,
    origin: str,
    signer: Signer,
    now: datetime,
    max_age_seconds: float,
    *,
    locked: bool = False,
) -> bool:
    """Sign a checkpoint of the current tree when entries are uncovered and the newest
    checkpoint is older than `max_age_seconds` (or there is none). Caller commits."""
    if not locked:
        lock(conn)
    storage = SqlLogStorage(conn, now)
    size = storage.size()
    latest = storage.latest_row()
    if latest is not None and latest[0] >= size:
        return False
    if latest is not None and (now - latest[2]).total_seconds() < max_age_seconds:
        return False
    Log(storage, origin).checkpoint([signer])
    return True
