"""Group commit for intake: one writer thread per process, one durable transaction per group.

Why: every accepted signature must be durable before its 201 (record, log leaf, idempotency
answer, all or nothing), and a durable commit costs an fsync (SQLite: under the database's one
write lock; PostgreSQL: a WAL flush). One commit per request caps intake at the disk's fsync
rate and queues every request behind the others' fsyncs. Here request threads hand their
finished verdicts to the process's writer; the writer takes what is queued (after the first job
it waits at most ``window`` seconds for more, up to ``max_jobs``), opens one transaction, takes
the log lock once (and adds the jobs queued while it waited for the lock), runs each job in a
savepoint (a job that fails is rolled back alone and its request gets the error), cuts a
checkpoint if one is due, commits once, and only then resolves each job's future. A crash
before the commit loses only unanswered requests; none is half-written (one transaction).

A job is ``fn(session) -> T`` and must do all its writes through ``session``; it runs in the
writer thread (inside an app context when the writer was given one).
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

T = TypeVar("T")
Job = Callable[[Session], T]


@dataclass
class _Item(Generic[T]):
    fn: Job[T]
    context: Callable[[], contextlib.AbstractContextManager[Any]] | None
    future: Future[T] = field(default_factory=Future)


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

    def submit(
        self,
        fn: Job[T],
        context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
    ) -> Future[T]:
        """Queue ``fn``; its future resolves after the group's commit (or with its error)."""
        item: _Item[T] = _Item(fn, context)
        self._queue.put(item)
        return item.future

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
        results: list[tuple[_Item[Any], Any]] = []
        try:
            with self._sessions() as session, session.begin():
                self._begin(session)
                self._join_waiting(group)
                for item in group:
                    try:
                        with _entered(item.context), session.begin_nested():
                            value = item.fn(session)
                    except Exception as exc:  # this job's own failure: the others go on
                        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
                            raise  # the database went away: nothing of the group can commit
                        item.future.set_exception(exc)
                        continue
                    results.append((item, value))
                if results:
                    self._finish(session)
        except BaseException as exc:  # nothing of this group was committed
            for item in group:
                if not item.future.done():
                    item.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self.groups += 1
        self.jobs += len(results)
        for item, value in results:
            item.future.set_result(value)


@contextlib.contextmanager
def _entered(
    context: Callable[[], contextlib.AbstractContextManager[Any]] | None,
) -> Iterator[None]:
    if context is None:
        yield
        return
    with context():
        yield
