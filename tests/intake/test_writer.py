"""The intake writer: jobs of concurrent requests share one transaction; each answer only after
its commit; a failing job fails alone (SQLite file, real threads)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from sigsvc import db
from sigsvc.intake.writer import GroupWriter

METADATA = sa.MetaData()
rows = sa.Table("rows", METADATA, sa.Column("n", sa.Integer, primary_key=True))


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(rows)) or 0)


def test_concurrent_jobs_share_transactions_and_answer_after_commit(engine: sa.Engine) -> None:
    begun: list[int] = []
    release = threading.Event()

    def begin(_session: Session) -> None:
        begun.append(1)
        release.wait(10)  # hold the first group open while the other jobs queue up

    writer = GroupWriter(
        db.make_session_factory(engine), begin=begin, finish=lambda s: None, window=0.05
    )
    try:

        def job(n: int):  # type: ignore[no-untyped-def]
            def insert(session: Session) -> int:
                session.execute(sa.insert(rows).values(n=n))
                return n

            return insert

        futures = [writer.submit(job(n)) for n in range(20)]
        release.set()
        assert [f.result(timeout=30) for f in futures] == list(range(20))
        assert _count(engine) == 20  # every answered job is committed
        assert writer.jobs == 20 and writer.groups == len(begun) < 20
    finally:
        writer.close()


def test_a_failing_job_fails_alone(engine: sa.Engine) -> None:
    writer = GroupWriter(
        db.make_session_factory(engine), begin=lambda s: None, finish=lambda s: None
    )
    try:
        gate = threading.Event()
        first = writer.submit(lambda s: gate.wait(10))  # the next three queue behind it
        ok = writer.submit(lambda s: s.execute(sa.insert(rows).values(n=1)))
        duplicate = writer.submit(lambda s: s.execute(sa.insert(rows).values(n=1)))
        other = writer.submit(lambda s: s.execute(sa.insert(rows).values(n=2)))
        gate.set()
        first.result(timeout=30)
        ok.result(timeout=30)
        other.result(timeout=30)
        with pytest.raises(sa.exc.IntegrityError):
            duplicate.result(timeout=30)
        assert _count(engine) == 2
    finally:
        writer.close()


def test_jobs_queued_while_the_lock_is_awaited_join_the_group(engine: sa.Engine) -> None:
    """Under contention the log lock is where requests wait: whatever queued meanwhile is
    committed with the group that got the lock (window 0: without this, one job a group)."""
    entered = threading.Event()
    release = threading.Event()

    def begin(_session: Session) -> None:  # stands for another process holding the lock
        entered.set()
        release.wait(10)

    writer = GroupWriter(
        db.make_session_factory(engine), begin=begin, finish=lambda s: None, window=0.0
    )
    try:
        first = writer.submit(lambda s: s.execute(sa.insert(rows).values(n=0)))
        assert entered.wait(10)  # the writer took the first job and awaits the lock
        later = [
            writer.submit(lambda s, n=n: s.execute(sa.insert(rows).values(n=n)))  # type: ignore[misc]
            for n in range(1, 10)
        ]
        release.set()
        for future in [first, *later]:
            future.result(timeout=30)
        assert _count(engine) == 10
        assert writer.groups == 1 and writer.jobs == 10
    finally:
        writer.close()
