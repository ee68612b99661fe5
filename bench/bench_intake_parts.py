"""Per-signature cost of the intake building blocks (encryption, pseudonyms, rate limits,
idempotency, fetcher cache) so the end-to-end intake budget (≥ 200 accepted/s) can be split.

PostgreSQL figures are printed when SIGSVC_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sigsvc.db.models.idempotency import idempotency_keys
from sigsvc.db.models.ratelimit import rate_limit_state
from sigsvc.intake import idempotency as idem
from sigsvc.intake import protection
from sigsvc.intake.pseudonym import PseudonymKey
from sigsvc.intake.ratelimit import Limit, MemoryStore, RateLimitStore, SqlStore

CONTAINER = os.urandom(40_000)  # a typical .edoc with an XAdES-LT signature is 20–60 kB


def rate(label: str, fn: Callable[[int], None], n: int) -> None:
    started = time.perf_counter()
    fn(n)
    elapsed = time.perf_counter() - started
    print(f"   {label:<58} {n / elapsed:>9,.0f}/s {elapsed / n * 1e6:>8.1f} µs each")


def bench_protection() -> None:
    kek = protection.LocalKek(os.urandom(32))
    dek = protection.generate_data_key()
    wrapped = protection.wrap_data_key(kek, dek, "init-1")

    def seal_record(n: int) -> None:
        for i in range(n):
            sid = str(i)
            for field, value in (
                ("given_name", b"Anna"),
                ("surname", b"Liepa"),
                ("personal_code", b"010101-10101"),
                ("container", CONTAINER),
            ):
                protection.seal(dek, value, protection.record_aad("init-1", sid, field))

    def unwrap(n: int) -> None:
        for _ in range(n):
            protection.unwrap_data_key(kek, wrapped, "init-1")

    rate("seal one record (3 fields + 40 kB container)", seal_record, 2_000)
    rate("unwrap the initiative data key", unwrap, 20_000)


def bench_pseudonym() -> None:
    key = PseudonymKey(os.urandom(32))

    def derive(n: int) -> None:
        for _ in range(n):
            key.dedup_key("init-1", "PNOLV-010101-10101")
            key.signer_pseudonym("init-1", "PNOLV-010101-10101")

    rate("dedup key + signer pseudonym", derive, 50_000)


def bench_ratelimit(store: RateLimitStore, label: str) -> None:
    limit = Limit(rate=1e6, burst=10)  # always allowed: measures the write path
    base = time.time_ns() // 1000

    def hits(n: int) -> None:
        for i in range(n):
            store.hit(f"platform:p{i % 8}", limit, base + i)

    rate(f"rate-limit check ({label})", hits, 20_000 if isinstance(store, MemoryStore) else 500)


def bench_idempotency(engine: sa.Engine, label: str) -> None:
    now = datetime.now(UTC)
    resp = idem.StoredResponse(201, "application/json", b'{"id":"x","status":"accepted"}')

    def fingerprint(n: int) -> None:
        for _ in range(n):
            idem.request_fingerprint("POST", "/v1/initiatives/i/signatures", "p", CONTAINER)

    def remember_lookup(n: int) -> None:
        for _ in range(n):
            k = uuid.uuid4().hex
            with engine.begin() as conn:
                idem.lookup(conn, "p", k)
                idem.remember(conn, "p", k, b"\x00" * 32, resp, now)

    if label.startswith("sqlite"):
        rate("request fingerprint (40 kB body)", fingerprint, 20_000)
    rate(f"idempotency lookup + remember ({label})", remember_lookup, 500)


def _wal(dbapi_connection: Any, _record: object) -> None:
    # As sigsvc.db opens SQLite: WAL, and a commit is on disk when it returns.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def bench_databases(url: str, label: str, wal: bool = False) -> None:
    engine = sa.create_engine(url)
    if wal:
        sa.event.listen(engine, "connect", _wal)
    rate_limit_state.create(engine, checkfirst=True)
    idempotency_keys.create(engine, checkfirst=True)
    try:
        bench_ratelimit(SqlStore(engine), f"{label}, shared engine")
        relaxed = SqlStore.from_url(url)
        bench_ratelimit(relaxed, f"{label}, SqlStore.from_url")
        bench_idempotency(engine, label)
    finally:
        rate_limit_state.drop(engine, checkfirst=True)
        idempotency_keys.drop(engine, checkfirst=True)
        engine.dispose()


def main() -> None:
    bench_protection()
    bench_pseudonym()
    bench_ratelimit(MemoryStore(), "memory")
    with tempfile.TemporaryDirectory() as tmp:
        bench_databases(f"sqlite:///{Path(tmp) / 'b.sqlite'}", "sqlite, WAL", wal=True)
    pg_url = os.environ.get("SIGSVC_TEST_POSTGRES_URL")
    if pg_url:
        bench_databases(pg_url, "postgresql")


if __name__ == "__main__":
    main()
