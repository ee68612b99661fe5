"""Shared fixtures: real databases (SQLite file and PostgreSQL server), the app, clients.

    database_url        fresh migrated database, parametrized: [sqlite] and [postgresql]
    empty_database_url  fresh empty database (no tables), same parametrization
    postgres_server     session-wide PostgreSQL (SIGSVC_TEST_POSTGRES_URL, or a private cluster)
    app, client         application factory on `database_url`; Flask test client
    admin_token, admin_headers, live_server (real HTTP on 127.0.0.1)

Hypothesis profiles: "ci" (loaded when the environment variable CI is set, or by
HYPOTHESIS_PROFILE=ci) draws the same examples on every run and has no per-example deadline, so
a loaded 2-core runner can neither turn the suite red by chance nor by slowness; "dev" (the
default) keeps random exploration but also drops the deadline. Each test bounds its own
max_examples (and stateful_step_count), which bounds the time.

PostgreSQL comes from SIGSVC_TEST_POSTGRES_URL (a server where the user may CREATE DATABASE)
or, when unset, from a throwaway cluster started here with the Debian binaries in
/usr/lib/postgresql/*/bin. Without binaries the PostgreSQL half is skipped, or fails under CI.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from werkzeug.serving import make_server

from sigsvc import credentials, db, services
from sigsvc.app import create_app

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

# The test PKI's responders listen on 127.0.0.1: the fetcher may reach private addresses in
# tests only (sigsvc.intake.netguard); tests of the guard itself pass allow_private=False.
os.environ["SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES"] = "1"

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_counter = itertools.count()


# --- PostgreSQL server --------------------------------------------------------------------


@dataclass
class PostgresServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    url: sa.URL  # points at the maintenance database
    restart: Callable[[], None] | None = None  # fast restart (the private cluster only)

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def _admin(self) -> psycopg.Connection[Any]:
        u = self.url
        return psycopg.connect(
            host=u.host,
            port=u.port,
            user=u.username,
            password=u.password,
            dbname=u.database,
            autocommit=True,
        )

    def create_database(self, name: str, template: str | None = None) -> str:
        with self._admin() as conn:
            sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            conn.execute(sql)
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(candidates):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(
    base: str, server: subprocess.Popen[Any], what: str = "server", seconds: float = 90
) -> None:
    """Until `base`/readyz answers 200. A deadline, not a count: on a loaded CI machine the
    first answers can be slow (a read timeout is not a connection error)."""
    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise AssertionError(f"{what} did not become ready")
        time.sleep(0.1)


_RESTARTS: dict[sa.URL, Callable[[], None]] = {}  # fault tests restart the private cluster


@contextlib.contextmanager
def _private_cluster(bindir: Path, *, durable: bool = False) -> Iterator[sa.URL]:
    as_postgres: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="sigsvc-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: use the Debian `postgres` user
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, log = workdir / "data", workdir / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=120)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        for attempt in range(3):
            port = _free_port()
            # A throwaway cluster: durability settings off to keep the suite fast; `durable`
            # (the benchmarks) keeps PostgreSQL's production defaults (fsync, synchronous commit).
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir}"
            if not durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                run(
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise RuntimeError("PostgreSQL did not start:\n" + log.read_text()) from None

        def restart() -> None:  # fault tests: every connection dropped, the server back
            run(
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "-l",
                str(log),
                "-o",
                options,
                "restart",
            )

        url = sa.URL.create(
            "postgresql+psycopg",
            username="postgres",
            host="127.0.0.1",
            port=port,
            database="postgres",
        )
        _RESTARTS[url] = restart
        yield url
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    given = os.environ.get("SIGSVC_TEST_POSTGRES_URL")
    if given:
        yield PostgresServer(sa.make_url(given).set(drivername="postgresql+psycopg"))
        return
    bindir = _pg_bindir()
    if bindir is None:
        reason = (
            "PostgreSQL binaries not found (/usr/lib/postgresql/*/bin): the PostgreSQL "
            "half of the database tests did NOT run. apt-get install postgresql, or set "
            "SIGSVC_TEST_POSTGRES_URL."
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with _private_cluster(bindir) as url:
        yield PostgresServer(url, _RESTARTS.get(url))


# --- Databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"sigsvc_template_{os.getpid()}"
    postgres_server.drop_database(name)
    db.upgrade(postgres_server.create_database(name))
    yield name
    postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def _postgres_module_database(
    postgres_server: PostgresServer, _postgres_template: str
) -> Iterator[str]:
    # CREATE DATABASE costs ~0.1 s, so one migrated database serves a whole test module and
    # is emptied after each test (see _truncate_all).
    name = f"sigsvc_test_{os.getpid()}_{next(_counter)}"
    url = postgres_server.create_database(name, template=_postgres_template)
    yield url
    postgres_server.drop_database(name)


_ALWAYS_TRIGGERS = (
    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
    " WHERE t.tgenabled = 'A' AND NOT t.tgisinternal"
)


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))  # a leaked session fails
            tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                # Append-only tables (audit log) refuse TRUNCATE with ENABLE ALWAYS triggers:
                # the owner switches them off for this one statement, then back on.
                guards = conn.execute(sa.text(_ALWAYS_TRIGGERS)).all()
                for table, trigger in guards:
                    conn.execute(sa.text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"'))
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                for table, trigger in guards:
                    conn.execute(
                        sa.text(f'ALTER TABLE "{table}" ENABLE ALWAYS TRIGGER "{trigger}"')
                    )
    finally:
        engine.dispose()


def _fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, migrated: bool
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        if migrated:
            shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if migrated:
        url = request.getfixturevalue("_postgres_module_database")
        try:
            yield url
        finally:
            _truncate_all(url)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"sigsvc_test_{os.getpid()}_{next(_counter)}"
    try:
        yield server.create_database(name)
    finally:
        server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database at the Alembic head, once per backend.

    SQLite: a copy of a migrated template file per test. PostgreSQL: one database per test
    module, every table truncated after each test (so do not change its schema; use
    `empty_database_url` for migration tests).
    """
    yield from _fresh_database(request, tmp_path, migrated=True)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database without any table (for migration tests), once per backend."""
    yield from _fresh_database(request, tmp_path, migrated=False)


# --- Application --------------------------------------------------------------------------


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {"TESTING": True, "DATABASE_URL": database_url, "ADMIN_TOKEN_SHA256": None},
        instance_path=str(tmp_path / "instance"),
    )
    yield application
    db.engine_of(application).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_token(app: Flask) -> str:
    with db.session_scope(app) as session:
        return credentials.create_admin_token(session, services.log_service(app), "tests")[1]


@pytest.fixture
def admin_headers(admin_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app behind a real HTTP server on 127.0.0.1 (threaded werkzeug); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
