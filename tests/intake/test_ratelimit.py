"""GCRA rate limits: exact decisions with a fake clock, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigsvc.db.models.ratelimit import rate_limit_state
from sigsvc.intake.ratelimit import (
    Decision,
    Limit,
    MemoryStore,
    RateLimiter,
    RateLimitError,
    RateLimitStore,
    SqlStore,
    gcra,
    hit_in,
)

US = 1_000_000
T0 = 1_780_000_000 * US  # an arbitrary fixed instant


def sqlite_engine(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")
    rate_limit_state.create(engine, checkfirst=True)
    return engine


@pytest.fixture(scope="module")
def pg_engine(intake_pg_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(intake_pg_url)
    rate_limit_state.create(engine, checkfirst=True)
    yield engine
    rate_limit_state.drop(engine, checkfirst=True)
    engine.dispose()


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        "sqlite-relaxed",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres-relaxed", marks=pytest.mark.postgres),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RateLimitStore]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "rl.sqlite")
        yield SqlStore(engine)
        engine.dispose()
    elif request.param == "sqlite-relaxed":
        path = tmp_path / "rl.sqlite"
        sqlite_engine(path).dispose()
        relaxed = SqlStore.from_url(f"sqlite:///{path}")
        yield relaxed
        relaxed.close()
    elif request.param == "postgres":
        yield SqlStore(request.getfixturevalue("pg_engine"))
    else:
        request.getfixturevalue("pg_engine")  # creates the table
        relaxed = SqlStore.from_url(request.getfixturevalue("intake_pg_url"))
        yield relaxed
        relaxed.close()


def fresh_key() -> str:
    return f"test:{uuid.uuid4().hex}"  # PostgreSQL state is shared across tests


def test_burst_then_retry_after_exactly_one_interval(store: RateLimitStore) -> None:
    limit = Limit(rate=2.0, burst=3)  # one every 0.5 s, three at once
    key = fresh_key()
    assert [store.hit(key, limit, T0).allowed for _ in range(3)] == [True, True, True]
    denied = store.hit(key, limit, T0)
    assert denied == Decision(False, 0.5)
    assert denied.retry_after_header == "1"
    assert not store.hit(key, limit, T0 + US // 2 - 1).allowed
    assert store.hit(key, limit, T0 + US // 2).allowed
    assert not store.hit(key, limit, T0 + US // 2).allowed


def test_denied_requests_do_not_consume(store: RateLimitStore) -> None:
    limit = Limit(rate=1.0, burst=1)
    key = fresh_key()
    assert store.hit(key, limit, T0).allowed
    for _ in range(10):
        assert not store.hit(key, limit, T0 + US // 2).allowed
    assert store.hit(key, limit, T0 + US).allowed


def test_idle_key_refills_to_burst_not_beyond(store: RateLimitStore) -> None:
    limit = Limit(rate=1.0, burst=2)
    key = fresh_key()
    store.hit(key, limit, T0)
    later = T0 + 3600 * US
    assert [store.hit(key, limit, later).allowed for _ in range(3)] == [True, True, False]


def test_keys_are_independent(store: RateLimitStore) -> None:
    limit = Limit(rate=1.0, burst=1)
    a, b = fresh_key(), fresh_key()
    assert store.hit(a, limit, T0).allowed
    assert store.hit(b, limit, T0).allowed
    assert not store.hit(a, limit, T0).allowed


def test_retry_after_header_rounds_up() -> None:
    assert Decision(False, 0.2).retry_after_header == "1"
    assert Decision(False, 1.0).retry_after_header == "1"
    assert Decision(False, 1.01).retry_after_header == "2"
    assert Decision(False, 59.5).retry_after_header == "60"


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0), (float("inf"), 1)])
def test_invalid_limits_are_typed(rate: float, burst: int) -> None:
    with pytest.raises(RateLimitError):
        Limit(rate, burst)


def test_per_minute() -> None:
    assert Limit.per_minute(120, burst=10).interval_us == US // 2


@settings(max_examples=200)
@given(
    st.lists(st.integers(min_value=0, max_value=3 * US), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=5),
    st.sampled_from([0.5, 1.0, 3.0, 10.0]),
)
def test_never_more_than_burst_plus_rate_times_window(
    gaps: list[int], burst: int, rate: float
) -> None:
    limit = Limit(rate, burst)
    tat: int | None = None
    now = T0
    allowed_at: list[int] = []
    for gap in gaps:
        now += gap
        decision, new_tat = gcra(tat, limit, now)
        if decision.allowed:
            allowed_at.append(now)
            tat = new_tat
        else:
            # Waiting exactly retry_after makes the next request pass.
            wait = round(decision.retry_after * US)
            assert gcra(tat, limit, now + wait)[0].allowed
            assert not gcra(tat, limit, now + wait - 1)[0].allowed
    # GCRA conformance: any window [a, b] holds at most burst + (b - a) / T allowed requests.
    for i, start in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            window = allowed_at[j] - start
            assert j - i + 1 <= burst + window // limit.interval_us


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(min_value=0, max_value=2 * US), min_size=1, max_size=25))
def test_sql_store_decides_like_the_pure_algorithm(tmp_path: Path, gaps: list[int]) -> None:
    engine = sqlite_engine(tmp_path / f"{uuid.uuid4().hex}.sqlite")
    sql, memory = SqlStore(engine), MemoryStore()
    limit = Limit(rate=2.0, burst=2)
    now = T0
    for gap in gaps:
        now += gap
        assert sql.hit("k", limit, now) == memory.hit("k", limit, now)
    engine.dispose()


def _concurrent_hits(make_store: object, workers: int, per_worker: int) -> int:
    limit = Limit(rate=1.0, burst=7)
    key = fresh_key()
    allowed = []
    barrier = threading.Barrier(workers)
    lock = threading.Lock()

    def work() -> None:
        store = make_store()  # type: ignore[operator]  # each worker its own engine/connection
        barrier.wait()
        count = sum(store.hit(key, limit, T0).allowed for _ in range(per_worker))
        store.close()
        with lock:
            allowed.append(count)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(allowed)


def test_limit_holds_across_connections_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    sqlite_engine(path).dispose()
    engines: list[sa.Engine] = []

    def make() -> SqlStore:
        engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
        engines.append(engine)
        return SqlStore(engine)

    assert _concurrent_hits(make, workers=4, per_worker=10) == 7
    for engine in engines:
        engine.dispose()
    assert _concurrent_hits(lambda: SqlStore.from_url(f"sqlite:///{path}"), 4, 10) == 7


@pytest.mark.postgres
def test_limit_holds_across_connections_postgres(pg_engine: sa.Engine, intake_pg_url: str) -> None:
    engines: list[sa.Engine] = []

    def make() -> SqlStore:
        engine = sa.create_engine(intake_pg_url)
        engines.append(engine)
        return SqlStore(engine)

    assert _concurrent_hits(make, workers=4, per_worker=10) == 7
    for engine in engines:
        engine.dispose()
    assert _concurrent_hits(lambda: SqlStore.from_url(intake_pg_url), 4, 10) == 7


def test_prune_removes_only_idle_rows(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "prune.sqlite")
    store = SqlStore(engine)
    limit = Limit(rate=1.0, burst=1)
    store.hit("old", limit, T0)
    store.hit("new", limit, T0 + 10 * US)
    assert store.prune(T0 + 5 * US) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(rate_limit_state.c.key)).scalars().all() == ["new"]
    engine.dispose()
    memory = MemoryStore()
    memory.hit("old", limit, T0)
    memory.hit("new", limit, T0 + 10 * US)
    assert memory.prune(T0 + 5 * US) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = T0 / US

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_uses_separate_namespaces_and_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        MemoryStore(),
        platform_limit=Limit(rate=10.0, burst=2),
        signer_limit=Limit.per_minute(1, burst=1),
        clock=clock,
    )
    pseudonym = bytes(32)
    assert limiter.check_signer(pseudonym).allowed
    denied = limiter.check_signer(pseudonym)
    assert not denied.allowed
    assert denied.retry_after_header == "60"
    assert limiter.check_platform("p1").allowed  # the signer key did not consume p1's budget
    assert limiter.check_platform("p1").allowed
    assert not limiter.check_platform("p1").allowed
    assert limiter.check_platform("p2").allowed
    clock.now += 60
    assert limiter.check_signer(pseudonym).allowed


def test_unsupported_dialect_is_typed() -> None:
    class FakeDialect:
        name = "mysql"

    class FakeEngine:
        dialect = FakeDialect()

    with pytest.raises(RateLimitError):
        SqlStore(FakeEngine())  # type: ignore[arg-type]
    with pytest.raises(RateLimitError):
        SqlStore.from_url("mysql://u@127.0.0.1/db")


def test_a_shared_limit_is_split_over_the_workers():
    limit = Limit(rate=100.0, burst=200)
    assert limit.shared(1) == limit
    assert limit.shared(2) == Limit(rate=50.0, burst=100)
    three = limit.shared(3)
    assert three.burst == 67 and 3 * three.rate == pytest.approx(100.0)
    assert Limit(rate=1.0, burst=1).shared(4).burst == 1  # never below one request


def test_hit_in_is_part_of_the_callers_transaction(tmp_path: Path):
    """The signer limit inside the intake transaction: counted when it commits, not when it
    rolls back."""
    engine = sqlite_engine(tmp_path / "rl.sqlite")
    limit = Limit(rate=1.0, burst=1)
    now = 1_000_000_000_000
    with engine.connect() as conn:
        with conn.begin() as tx:
            assert hit_in(conn, "signer:a", limit, now).allowed
            tx.rollback()
        with conn.begin():
            assert hit_in(conn, "signer:a", limit, now).allowed  # the rolled-back hit is gone
        with conn.begin():
            denied = hit_in(conn, "signer:a", limit, now)
    assert not denied.allowed and denied.retry_after == pytest.approx(1.0)
    engine.dispose()
