"""Database plumbing: migrations match the models, SQLite durability settings, URLs."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from sigsvc import db
from sigsvc.db import Base
from sigsvc.db.models import import_all_models


def test_migrations_up_down_up_and_match_the_models(empty_database_url):
    import_all_models()
    cfg = db.alembic_config(empty_database_url)
    db.upgrade(empty_database_url)
    engine = db.make_engine(empty_database_url)
    try:
        assert db.current_revisions(engine) == db.head_revisions(empty_database_url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], "models and migrations differ: add an Alembic revision"
        command.downgrade(cfg, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        db.upgrade(empty_database_url)
        assert db.current_revisions(engine) == db.head_revisions(empty_database_url)
    finally:
        engine.dispose()


def test_revisions_form_one_numbered_chain():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    revisions = list(script.walk_revisions())
    assert len(script.get_heads()) == 1
    numbers = sorted(r.revision for r in revisions)
    assert numbers == [f"{i:04d}" for i in range(1, len(numbers) + 1)]
    for rev in revisions:
        assert rev.path.rsplit("/", 1)[1].startswith(f"{rev.revision}_")


def test_sqlite_is_wal_full_sync_with_foreign_keys(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path}/sub/dir/x.sqlite")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_plain_postgresql_url_uses_psycopg3():
    engine = db.make_engine("postgresql://u:p%40ss@127.0.0.1:1/x")
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.password == "p@ss"
    engine.dispose()


def test_readyz_reports_a_database_behind_head(empty_database_url, tmp_path):
    from sigsvc.app import create_app

    app = create_app({"DATABASE_URL": empty_database_url}, instance_path=str(tmp_path))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "NOT_READY"
    finally:
        db.engine_of(app).dispose()


def test_database_errors_do_not_quote_bound_values(database_url):
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (v VARCHAR(20) UNIQUE)"))
            conn.execute(sa.text("INSERT INTO t VALUES (:v)"), {"v": "secret-value"})
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (:v)"), {"v": "secret-value"})
        except sa.exc.IntegrityError as exc:
            message = str(exc)
        else:
            raise AssertionError("duplicate accepted")
        # The parameters are hidden. (PostgreSQL's own DETAIL line may still quote the value,
        # which is why the error handler never logs exception messages.)
        assert "SQL parameters hidden due to hide_parameters=True" in message
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE t"))
        engine.dispose()


def test_the_pool_keeps_a_connection_for_each_thread(database_url, tmp_path):
    """A worker's threads and its intake writer reuse their connections: none is closed when
    returned and opened again for the next request (on PostgreSQL each would be a new backend:
    fork, authentication, statements prepared again)."""
    import threading

    from sigsvc.app import create_app

    app = create_app({"DATABASE_URL": database_url, "THREADS": 8}, instance_path=str(tmp_path))
    engine = db.engine_of(app)
    opened: list[object] = []
    sa.event.listen(engine, "connect", lambda conn, _record: opened.append(conn))
    at_once = 8 + db.EXTRA_CONNECTIONS
    try:
        for _round in range(3):
            barrier = threading.Barrier(at_once)

            def use(barrier: threading.Barrier = barrier) -> None:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
                    barrier.wait(timeout=30)  # every connection checked out at the same time

            threads = [threading.Thread(target=use) for _ in range(at_once)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert len(opened) == at_once
    finally:
        engine.dispose()
