"""sigsvc.log.storage on real SQLite and PostgreSQL: same bytes as in memory, concurrency,
tamper."""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from audit import merkle
from audit.errors import StorageError
from audit.export import write_export
from audit.log import Log
from audit.receipt import verify_receipt
from audit.storage import MemoryStorage
from audit.verify import verify_export
from sigsvc import db
from sigsvc.db.models.log import APP_ROLE
from sigsvc.log.storage import GroupCommitWriter, LogStore, SqlLogStorage
from tests.audit import golden

ORIGIN = golden.ORIGIN
KEY = golden.FIRST_KEY
PG_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: sa.Engine) -> LogStore:
    return LogStore(engine, ORIGIN)


def test_same_export_bytes_as_memory_storage(store: LogStore) -> None:
    memory = Log(MemoryStorage(), ORIGIN)
    batches = [[f"e{i}-{j}".encode() for j in range(i % 37 + 1)] for i in range(30)]
    for i, batch in enumerate(batches):
        assert store.append(batch) == memory.append(batch)
        if i % 7 == 0:
            assert store.checkpoint([KEY]) == memory.checkpoint([KEY])
    store.checkpoint([KEY])
    memory.checkpoint([KEY])
    out = io.BytesIO()
    store.export(out)
    expected = io.BytesIO()
    write_export(memory.storage, expected)
    assert out.getvalue() == expected.getvalue()
    size = store.size()
    assert verify_export(io.BytesIO(out.getvalue()), [KEY.verifier()]).size == size
    for index in (0, size // 2, size - 1):
        assert store.inclusion_proof(index, size) == memory.inclusion_proof(index, size)
        verify_receipt(store.receipt(index), [KEY.verifier()], ORIGIN)
    assert store.consistency_proof(5, size) == memory.consistency_proof(5, size)


def test_key_rotation_through_the_store(store: LogStore) -> None:
    store.append([b"a"])
    store.checkpoint([KEY])
    store.rotate_key(datetime(2026, 6, 1, tzinfo=UTC), KEY, golden.SECOND_KEY)
    store.append([b"b"])
    store.checkpoint([golden.SECOND_KEY])
    out = io.BytesIO()
    store.export(out)
    report = verify_export(io.BytesIO(out.getvalue()), [KEY.verifier()])
    assert report.key_rotations == 1 and report.size == 3


def test_rolled_back_append_leaves_no_gap(store: LogStore) -> None:
    store.append([b"a"])
    with store.sessions() as session, session.begin():
        assert store.append_in(session, [b"b", b"c"]) == range(1, 3)
        session.rollback()
    assert store.append([b"d"]) == range(1, 2)
    with store.sessions() as session, pytest.raises(StorageError):
        SqlLogStorage(session).append(0, [(b"x", merkle.leaf_hash(b"x"))], [])


def _check_dense(store: LogStore, expected: set[bytes]) -> None:
    with store.sessions() as session:
        storage = SqlLogStorage(session)
        size = storage.size()
        data = storage.entries(0, size)
    assert size == len(expected) and set(data) == expected and len(set(data)) == size
    store.checkpoint([KEY])
    out = io.BytesIO()
    store.export(out)
    report = verify_export(io.BytesIO(out.getvalue()), [KEY.verifier()])
    assert report.size == size and report.root == merkle.root(merkle.leaf_hash(d) for d in data)


def test_concurrent_appenders_no_gaps_or_duplicates(store: LogStore) -> None:
    threads, per_thread = 6, 25

    def work(t: int) -> None:
        for i in range(per_thread):
            store.append([f"t{t}-{i}".encode(), f"t{t}-{i}-second".encode()])

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    expected = {
        f"t{t}-{i}{s}".encode()
        for t in range(threads)
        for i in range(per_thread)
        for s in ("", "-second")
    }
    _check_dense(store, expected)


def test_group_commit_writer(store: LogStore) -> None:
    writer = GroupCommitWriter(store, max_batch=64)
    results: dict[bytes, int] = {}
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(40):
            data = f"g{t}-{i}".encode()
            index = writer.append(data)
            with lock:
                results[data] = index

    workers = [threading.Thread(target=work, args=(t,)) for t in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    writer.close()
    assert sorted(results.values()) == list(range(12 * 40))
    with store.sessions() as session:
        storage = SqlLogStorage(session)
        for data, index in list(results.items())[:50]:
            assert storage.entries(index, index + 1) == [data]
    _check_dense(store, set(results))


def test_group_commit_isolates_a_failing_request(store: LogStore, engine: sa.Engine) -> None:
    seen: list[int] = []

    def record(session: Session, index: int) -> None:
        seen.append(index)

    def fail(session: Session, index: int) -> None:
        raise RuntimeError("record could not be stored")

    writer = GroupCommitWriter(store)
    futures = [
        writer.submit(b"one", record),
        writer.submit(b"bad", fail),
        writer.submit(b"two", record),
    ]
    writer.close()
    assert futures[0].result() == 0 and futures[2].result() == 1
    with pytest.raises(RuntimeError):
        futures[1].result()
    assert seen == [0, 1]
    assert store.size() == 2


def test_sql_tampering_refused(store: LogStore, engine: sa.Engine) -> None:
    store.append([b"a", b"b", b"c"])
    store.checkpoint([KEY])
    statements = [
        "UPDATE audit_log_entries SET data = leaf_hash WHERE idx = 1",
        "DELETE FROM audit_log_entries WHERE idx = 2",
        "UPDATE audit_log_nodes SET hash = hash",
        "DELETE FROM audit_log_checkpoints",
        "UPDATE audit_log_head SET size = 1",
        "DELETE FROM audit_log_head",
    ]
    for sql in statements:
        with pytest.raises(sa.exc.DBAPIError) as exc, engine.begin() as conn:
            conn.execute(sa.text(sql))
        assert "refused" in str(exc.value) or "may only grow" in str(exc.value)  # the triggers
    assert store.size() == 3


@PG_ONLY
def test_postgres_refuses_even_as_superuser_in_replica_mode(
    store: LogStore, engine: sa.Engine
) -> None:
    store.append([b"a", b"b"])
    for sql in [
        "UPDATE audit_log_entries SET data = leaf_hash",
        "DELETE FROM audit_log_entries",
        "TRUNCATE audit_log_entries",
        "TRUNCATE audit_log_nodes",
        "TRUNCATE audit_log_checkpoints",
        "TRUNCATE audit_log_head",
    ]:
        with pytest.raises(sa.exc.DBAPIError) as exc, engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.text(sql))
        assert isinstance(exc.value.orig, psycopg.errors.InsufficientPrivilege)
    assert store.size() == 2


@PG_ONLY
def test_postgres_application_role_lacks_privileges(store: LogStore, engine: sa.Engine) -> None:
    store.append([b"a"])
    login = f"logstore_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {login} LOGIN IN ROLE {APP_ROLE}"))
    app_url = engine.url.set(username=login)
    app_engine = db.make_engine(app_url.render_as_string(hide_password=False))
    try:
        app_store = LogStore(app_engine, ORIGIN)
        assert app_store.append([b"b"]) == range(1, 2)  # the role can append...
        app_store.checkpoint([KEY])
        for sql in [
            "UPDATE audit_log_entries SET data = leaf_hash",
            "DELETE FROM audit_log_entries",
            "TRUNCATE audit_log_entries",
            "DELETE FROM audit_log_head",
        ]:
            with pytest.raises(sa.exc.DBAPIError) as exc, app_engine.begin() as conn:
                conn.execute(sa.text(sql))
            assert isinstance(exc.value.orig, psycopg.errors.InsufficientPrivilege)
    finally:
        app_engine.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {login}"))
            conn.execute(sa.text(f"DROP ROLE {login}"))
