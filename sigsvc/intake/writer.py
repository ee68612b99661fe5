"""Group commit for intake: one writer thread per process, one durable transaction per group.

Why: every accepted signature must be durable before its 201 (record, log leaf, idempotency
answer, all or nothing), and a durable commit costs an fsync (SQLite: under the database's one
write lock; PostgreSQL: a WAL flush). One commit per request caps intake at the disk's fsync
rate and queues every request behind the others' fsyncs. Here request threads hand their
finished verdicts to the process's writer; the writer takes what is queued (after the first job
it waits at most ``window`` seconds for more, up to ``max_jobs``), opens one transaction, takes
the log lock once (and adds the jobs queued while it waited for the lock), runs the jobs (a
batch of them at once, or each in a savepoint; a job that fails fails alone and its request
gets the error), cuts a checkpoint if one is due, commits once, and only then resolves each
job's future. A crash before the commit loses only unanswered requests; none is half-written
(one transaction).

A job is ``fn(session) -> T`` and must do all its writes through ``session``; it runs in the
writer thread (inside an app context when the writer was given one).

A job may also name a *batch*: a function ``batch(session, payloads) -> outcomes`` that does the
work of consecutive jobs naming the same batch at once (decided in Python, written with a few
statements for all of them), one outcome per payload: a value, or an exception for a job that
fails alone. It may raise :class:`Fallback` (a conflict it does not resolve itself): the
transaction is rolled back and the group runs again, each job's ``fn`` in its own savepoint.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from sigsvc import metrics

T = TypeVar("T")
Job = Callable[[Session], T]
Batch = Callable[[Session, list[Any]], list[Any]]


class Fallback(Exception):
    """Raised by a batch: roll back, and run the group's jobs one by one instead."""


@dataclass
class _Item(Generic[T]):
    fn: Job[T]
    context: Callable[[], contextlib.AbstractContextManager[Any]] | None
    batch: Batch | None = None
    payload: Any = None
    future: Future[T] = field(default_factory=Future)


@dataclass(frozen=True)
class _Failed:
    error: Exception


_STOP = object()


class GroupWriter:
    """Runs jobs in shared transactions; see the module docstring.

    ``begin(session)`` runs first in every transaction (take the log lock there: the group's
    jobs then see each other's writes and nobody else's); ``finish(session)`` runs after the
    jobs, before the commit (cut a checkpoint if due).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        begin: Callable[[Session], object],
        finish: Callable[[Session], object],
        window: float = 0.002,
        max_jobs: int = 64,
        name: str = "intake-writer",
    ) -> None:
        self._sessions = sessions
        self._begin = begin
        self._finish = finish
        self.window = window
        self.max_jobs = max_jobs
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.groups = 0  # statistics for the bench and the tests
        self.jobs = 0
        self.fallbacks = 0
        self.held_seconds = 0.0  # log lock held (taken to committed), summed over groups

    def submit(
        self,
        fn: Job[T],
        context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        *,
        batch: Batch | None = None,
        payload: Any = None,
    ) -> Future[T]:
        """Queue ``fn`` (or ``payload`` for ``batch``, with ``fn`` as its fallback); the future
        resolves after the group's commit (or with its error)."""
        item: _Item[T] = _Item(fn, context, batch, payload)
        self._queue.put(item)
        return item.future

    def waiting(self) -> int:
        """Jobs queued and not yet taken into a group (for the tests)."""
        return self._queue.qsize()

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _gather(self, first: _Item[Any]) -> tuple[list[_Item[Any]], bool]:
        group = [first]
        deadline = time.monotonic() + self.window
        while len(group) < self.max_jobs:
            timeout = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return group, True
            assert isinstance(item, _Item)
            group.append(item)
        return group, False

    def _join_waiting(self, group: list[_Item[Any]]) -> None:
        """Jobs queued while the log lock was awaited join the group now that it is held:
        under contention (another process's writer holds the lock for its group) this is
        where requests pile up, and one commit then serves them all."""
        while len(group) < self.max_jobs:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is _STOP:
                self._queue.put(_STOP)  # _run stops after this group
                return
            assert isinstance(item, _Item)
            group.append(item)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, _Item)
            group, stop = self._gather(first)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Item[Any]]) -> None:
        try:
            try:
                outcomes = self._transaction(group, batched=True)
            except Fallback:
                self.fallbacks += 1
                outcomes = self._transaction(group, batched=False)
        except BaseException as exc:  # nothing of this group was committed
            for item in group:
                if not item.future.done():
                    item.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.groups += 1
        self.jobs += sum(not isinstance(o, _Failed) for o in outcomes)
        for item, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, _Failed):
                item.future.set_exception(outcome.error)
            else:
                item.future.set_result(outcome)

    def _transaction(self, group: list[_Item[Any]], *, batched: bool) -> list[Any]:
        """One transaction for ``group``: each outcome, or _Failed for a job that failed alone."""
        with self._sessions() as session:
            with session.begin():
                self._begin(session)
                locked = time.perf_counter()
                self._join_waiting(group)
                outcomes: list[Any] = []
                start = 0
                while start < len(group):
                    batch = group[start].batch if batched else None
                    end = start + 1
                    if batch is None:
                        outcomes.append(self._one(session, group[start]))
                    else:
                        while end < len(group) and group[end].batch is batch:
                            end += 1
                        run = group[start:end]
                        try:
                            done = batch(session, [item.payload for item in run])
                        except Exception as exc:  # Fallback, or what the batch did not expect
                            if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
                                raise
                            raise Fallback(str(exc)) from exc
                        outcomes.extend(_Failed(o) if isinstance(o, Exception) else o for o in done)
                    start = end
                if any(not isinstance(o, _Failed) for o in outcomes):
                    self._finish(session)
            held = time.perf_counter() - locked  # committed: the lock is free again
        self.held_seconds += held
        metrics.group_committed(len(group), held)
        return outcomes

    @staticmethod
    def _one(session: Session, item: _Item[Any]) -> Any:
        try:
            with _entered(item.context), session.begin_nested():
                return item.fn(session)
        except Exception as exc:  # this job's own failure: the others go on
            if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
                raise  # the database went away: nothing of the group can commit
            return _Failed(exc)


@contextlib.contextmanager
def _entered(
    context: Callable[[], contextlib.AbstractContextManager[Any]] | None,
) -> Iterator[None]:
    if context is None:
        yield
        return
    with context():
        yield
