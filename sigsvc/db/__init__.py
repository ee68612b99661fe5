"""Persistence plumbing: declarative base, engines, sessions, Alembic.

Every model in the service derives from `Base`; Alembic (`sigsvc/db/migrations/`) owns the schema.
Engines are made by `make_engine` only, so SQLite always gets the same durability settings.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Deterministic constraint names, so later migrations can drop/alter them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never block the writer; synchronous=FULL: a commit is on disk when it returns
    # (the log and the signature records must survive a power cut); foreign keys are off by
    # default in SQLite. busy_timeout lets concurrent gunicorn workers wait instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# SQLite's busy handler re-polls a waiting writer at growing intervals, up to 100 ms; a
# process that commits write transactions back to back (export reservations, retention erasure)
# would win the lock every time and starve intake for seconds. PostgreSQL queues lock waiters.
SQLITE_WRITER_GAP_SECONDS = 0.1


def let_waiting_writers_in(sessions: sessionmaker[Session]) -> None:
    """Between two bulk write transactions: on SQLite, leave the write lock free long enough
    for a writer waiting in the busy handler to take it (intake's p99 during a 100,000-signature
    export: 2.5 s without the gap, 124 ms with it; `make bench ONLY=bench_intake`)."""
    bind = sessions.kw.get("bind")
    if bind is not None and bind.dialect.name == "sqlite":
        time.sleep(SQLITE_WRITER_GAP_SECONDS)


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Engine for a SQLAlchemy URL: `sqlite:///path` or `postgresql+psycopg://...`."""
    parsed = sa.make_url(url)
    # Errors must not quote bound values (they may be personal data) into logs or tracebacks.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// (as Heroku-style DATABASE_URLs are written) means psycopg 3 here.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def make_session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


# --- Flask integration --------------------------------------------------------------------


# Connections a process holds besides its request threads': the intake writer, housekeeping,
# and a request that runs while a thread's previous one is being torn down.
EXTRA_CONNECTIONS = 4


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory from `app.config["DATABASE_URL"]`.

    The pool keeps as many connections as the process's threads use at once. With SQLAlchemy's
    default (5 kept, the rest opened and closed again) a worker of 8 request threads and the
    intake writer opened and closed PostgreSQL connections all the time: a new backend each
    (fork, authentication, catalog caches, statements prepared again). Sized to the threads,
    PostgreSQL's CPU per accepted signature fell from 2.8 to 1.1 ms and the closed loop rose from
    ~156 to ~183 accepted/s (docs/adr/intake.md)."""
    engine = make_engine(
        app.config["DATABASE_URL"], pool_size=app.config["THREADS"] + EXTRA_CONNECTIONS
    )
    app.extensions["sigsvc.db"] = {"engine": engine, "sessions": make_session_factory(engine)}
    app.teardown_appcontext(_close_session)


def engine_of(app: Flask | None = None) -> sa.Engine:
    engine: sa.Engine = (app or current_app).extensions["sigsvc.db"]["engine"]
    return engine


def sessions_of(app: Flask | None = None) -> sessionmaker[Session]:
    """The app's session factory (for work done in several short transactions)."""
    factory: sessionmaker[Session] = (app or current_app).extensions["sigsvc.db"]["sessions"]
    return factory


def session() -> Session:
    """The session of the current app context (one per request), closed at teardown.

    Uncommitted work is rolled back at teardown, so an error response never stores anything.
    """
    if "sigsvc_db_session" not in g:
        g.sigsvc_db_session = current_app.extensions["sigsvc.db"]["sessions"]()
    db_session: Session = g.sigsvc_db_session
    return db_session


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session outside a request (CLI): commits on success, rolls back on error."""
    factory: sessionmaker[Session] = app.extensions["sigsvc.db"]["sessions"]
    with factory() as db_session, db_session.begin():
        yield db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("sigsvc_db_session", None)
    if db_session is not None:
        db_session.close()


# --- Alembic ------------------------------------------------------------------------------


def alembic_config(url: str) -> AlembicConfig:
    """Alembic configuration without an alembic.ini: scripts from the package, URL given."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    alembic_command.upgrade(alembic_config(url), revision)


def head_revisions(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_revisions(engine: sa.Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
