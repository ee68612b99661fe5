"""Rate limits per platform API key and per signer pseudonym (GCRA), with ``Retry-After``.

Why: a misbehaving platform must not starve the others, and one signer's container replayed in
a loop must not cost a verification (and an OCSP round trip) each time. The answer to an
over-limit request is 429 with ``Retry-After`` seconds.

Algorithm: GCRA (the generic cell rate algorithm, ITU-T I.371 / ATM Forum TM 4.1), equivalent to
a token bucket but with one number of state per key: the theoretical arrival time ``tat``.
With emission interval ``T = 1/rate`` and ``burst`` requests allowed at once, a request at
``now`` is allowed iff ``tat <= now + (burst - 1) * T``; then ``tat = max(tat, now) + T``.
Otherwise it must wait ``tat - now - (burst - 1) * T``. Times are integer microseconds so every
store computes exactly the same decisions.

Storage: gunicorn runs several worker processes (and possibly several hosts). The service keeps
the platform limit in each worker's memory (:class:`MemoryStore`), each worker enforcing its
share (:meth:`Limit.shared`): no durable write per request, a limit that holds across the
workers of an instance (docs/adr/intake.md states the tolerance). The signer limit is checked
with :func:`hit_in` inside the intake transaction (exact across processes, no commit of its
own). :class:`SqlStore` keeps ``tat`` in a small table for callers that want a shared limit
outside a transaction: one atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING``
statement, which PostgreSQL (row lock) and SQLite (database write lock) both serialise.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sigsvc.db.models.ratelimit import rate_limit_state

_US = 1_000_000


class RateLimitError(Exception):
    """Base of every error raised by this module (configuration only: limits never raise)."""


@dataclass(frozen=True)
class Limit:
    """``rate`` requests per second sustained, up to ``burst`` at once."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)) or self.burst < 1:
            raise RateLimitError(f"invalid limit: rate {self.rate}/s, burst {self.burst}")

    @classmethod
    def per_minute(cls, count: float, burst: int) -> Limit:
        return cls(count / 60.0, burst)

    def shared(self, parts: int) -> Limit:
        """This limit split over ``parts`` processes that each enforce their own share in
        memory: together at most ``rate`` (and ``burst`` + ``parts`` - 1 at once)."""
        if parts <= 1:
            return self
        return Limit(self.rate / parts, max(1, math.ceil(self.burst / parts)))

    @property
    def interval_us(self) -> int:
        return max(1, round(_US / self.rate))

    @property
    def tolerance_us(self) -> int:
        return (self.burst - 1) * self.interval_us


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds until a request would be allowed; 0.0 when allowed

    @property
    def retry_after_header(self) -> str:
        """The ``Retry-After`` value: whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3)."""
        return str(max(1, math.ceil(self.retry_after)))


def gcra(tat_us: int | None, limit: Limit, now_us: int) -> tuple[Decision, int | None]:
    """One GCRA step: (decision, new tat or None when unchanged). Pure."""
    if tat_us is not None and tat_us > now_us + limit.tolerance_us:
        wait = tat_us - now_us - limit.tolerance_us
        return Decision(False, wait / _US), None
    start = now_us if tat_us is None else max(tat_us, now_us)
    return Decision(True, 0.0), start + limit.interval_us


class RateLimitStore(Protocol):
    def hit(self, key: str, limit: Limit, now_us: int) -> Decision:
        """Count one request for ``key`` at ``now_us`` if the limit allows it."""
        ...

    def prune(self, now_us: int) -> int:
        """Forget keys that no longer limit anyone at ``now_us``; how many."""
        ...


class MemoryStore:
    """Per-process state; correct only with a single worker process."""

    def __init__(self) -> None:
        self._tat: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: Limit, now_us: int) -> Decision:
        with self._lock:
            decision, new_tat = gcra(self._tat.get(key), limit, now_us)
            if new_tat is not None:
                self._tat[key] = new_tat
            return decision

    def prune(self, now_us: int) -> int:
        with self._lock:
            stale = [k for k, tat in self._tat.items() if tat <= now_us]
            for k in stale:
                del self._tat[k]
            return len(stale)


def _upsert(dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(rate_limit_state)
    if dialect == "sqlite":
        return sqlite.insert(rate_limit_state)
    raise RateLimitError(f"SqlStore supports postgresql and sqlite, not {dialect}")


class SqlStore:
    """State in :data:`rate_limit_state`; one atomic autocommitted statement per request.

    The upsert needs no surrounding transaction, so it runs in autocommit mode: one round
    trip. Rate-limit state need not survive a crash (losing it forgives a few requests), so
    :meth:`from_url` builds a small dedicated engine that does not wait for a durable commit
    (PostgreSQL ``synchronous_commit=off``; SQLite ``synchronous=NORMAL``, which with WAL
    skips the fsync). ``make bench ONLY=intake_parts`` on the 2-core dev machine: a check
    costs ~1-5 ms on a durable shared engine and ~0.7-1.7 ms on :meth:`from_url`'s engine.
    """

    def __init__(self, engine: sa.Engine, *, owns_engine: bool = False) -> None:
        self._insert = _upsert(engine.dialect.name)
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._owned = engine if owns_engine else None

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 2) -> SqlStore:
        """A store on its own engine tuned for cheap, non-durable commits."""
        dialect = sa.engine.make_url(url).get_backend_name()
        if dialect == "postgresql":
            engine = sa.create_engine(
                url,
                pool_size=pool_size,
                connect_args={"options": "-c synchronous_commit=off"},
            )
        elif dialect == "sqlite":
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            sa.event.listen(engine, "connect", _sqlite_relaxed)
        else:
            raise RateLimitError(f"SqlStore supports postgresql and sqlite, not {dialect}")
        return cls(engine, owns_engine=True)

    def close(self) -> None:
        """Dispose of the engine if this store created it (:meth:`from_url`)."""
        if self._owned is not None:
            self._owned.dispose()

    def hit(self, key: str, limit: Limit, now_us: int) -> Decision:
        with self._engine.connect() as conn:
            return hit_in(conn, key, limit, now_us)

    def prune(self, now_us: int) -> int:
        """Delete rows that no longer limit anyone (run from a periodic job)."""
        with self._engine.connect() as conn:
            return prune_in(conn, now_us)


def hit_in(conn: sa.Connection, key: str, limit: Limit, now_us: int) -> Decision:
    """One GCRA step on :data:`rate_limit_state` in the caller's transaction (the intake
    transaction, so the check costs no durable write of its own and rolls back with it)."""
    t = rate_limit_state.c.tat_us
    stmt = _upsert(conn.dialect.name).values(key=key, tat_us=now_us + limit.interval_us)
    stmt = stmt.on_conflict_do_update(
        index_elements=[rate_limit_state.c.key],
        set_={
            "tat_us": sa.case((t > now_us, t), else_=sa.literal(now_us, sa.BigInteger))
            + limit.interval_us
        },
        where=t <= now_us + limit.tolerance_us,
    ).returning(t)
    if conn.execute(stmt).first() is not None:
        return Decision(True, 0.0)
    tat = conn.execute(sa.select(t).where(rate_limit_state.c.key == key)).scalar()
    if tat is None:  # pruned in between: the denial stands, the wait is one interval
        return Decision(False, limit.interval_us / _US)
    decision, _ = gcra(tat, limit, now_us)
    return decision


def prune_in(conn: sa.Connection, now_us: int) -> int:
    """Delete stored state that no longer limits anyone at ``now_us`` (a ``tat`` not after
    it is the same as none); how many rows. The signer limit's rows hold keyed pseudonyms:
    kept only while they limit someone (sigsvc.housekeeping runs this)."""
    result = conn.execute(sa.delete(rate_limit_state).where(rate_limit_state.c.tat_us <= now_us))
    return result.rowcount or 0


def tats_in(conn: sa.Connection, keys: Collection[str]) -> dict[str, int]:
    """The stored ``tat`` of each of ``keys`` that has one (one statement: a group's signers
    are decided in Python under the log lock, then written with :func:`store_tats_in`)."""
    if not keys:
        return {}
    t = rate_limit_state.c
    rows = conn.execute(sa.select(t.key, t.tat_us).where(t.key.in_(sorted(keys))))
    return {key: int(tat) for key, tat in rows}


def store_tats_in(conn: sa.Connection, tats: Mapping[str, int]) -> None:
    """Write decided ``tat`` values (one executemany). Only for keys whose every writer holds
    the log lock (the signer limit), so what :func:`tats_in` read under it is still current."""
    if not tats:
        return
    stmt = _upsert(conn.dialect.name)
    stmt = stmt.on_conflict_do_update(
        index_elements=[rate_limit_state.c.key], set_={"tat_us": stmt.excluded.tat_us}
    )
    conn.execute(stmt, [{"key": key, "tat_us": tat} for key, tat in tats.items()])


def _sqlite_relaxed(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class RateLimiter:
    """The service's two limits over one store; ``clock`` returns POSIX seconds."""

    def __init__(
        self,
        store: RateLimitStore,
        *,
        platform_limit: Limit,
        signer_limit: Limit,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.platform_limit = platform_limit
        self.signer_limit = signer_limit
        self._clock = clock

    def _now_us(self) -> int:
        return round(self._clock() * _US)

    def now_us(self) -> int:
        """The limiter's clock in integer microseconds (what :func:`gcra` takes)."""
        return self._now_us()

    def _hit(self, key: str, limit: Limit) -> Decision:
        decision = self.store.hit(key, limit, self._now_us())
        if decision.allowed:
            return decision
        # The time was read before the statement waited for the database lock (seconds under
        # load on SQLite); another process may have moved `tat` past that stale `now` plus the
        # tolerance. A denied hit changes nothing, so ask once more with a fresh clock
        # (bench_intake saw ~1 false 429 in 180 requests without this).
        return self.store.hit(key, limit, self._now_us())

    def check_platform(self, platform_id: str | uuid.UUID) -> Decision:
        return self._hit(f"platform:{platform_id}", self.platform_limit)

    def prune(self, conn: sa.Connection | None = None) -> int:
        """Forget state that no longer limits anyone: the store's, and with ``conn`` the
        signer limit's rows in the database (sigsvc.housekeeping runs it)."""
        now_us = self._now_us()
        pruned = self.store.prune(now_us)
        return pruned if conn is None else pruned + prune_in(conn, now_us)

    def check_signer(self, signer_pseudonym: bytes) -> Decision:
        """``signer_pseudonym`` from :mod:`sigsvc.intake.pseudonym` (never a personal code)."""
        return self._hit(signer_key(signer_pseudonym), self.signer_limit)

    def check_signer_in(self, conn: sa.Connection, signer_pseudonym: bytes) -> Decision:
        """The signer limit inside the caller's transaction (exact across processes: the row
        is written under the transaction's locks; nothing extra to make durable)."""
        return hit_in(conn, signer_key(signer_pseudonym), self.signer_limit, self._now_us())


def signer_key(signer_pseudonym: bytes) -> str:
    """The rate-limit key of a signer (its pseudonym, never the personal code)."""
    return f"signer:{signer_pseudonym.hex()}"
