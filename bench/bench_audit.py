"""Audit log figures: durable appends/s (SQLite, PostgreSQL; one commit per event vs grouped),
proof latency at 1 M entries, offline verification rate of an export.

Durable means the databases' durable settings: SQLite WAL + synchronous=FULL (sigsvc.db), and a
private PostgreSQL cluster with fsync=on, synchronous_commit=on (the defaults). Sizes can be
lowered for a quick run: SIGSVC_BENCH_LOG_ENTRIES (default 1,000,000).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from audit import merkle
from audit.log import Log
from audit.note import Signer
from audit.storage import MemoryStorage
from audit.verify import verify_export
from sigsvc import db
from sigsvc.log.storage import GroupCommitWriter, LogStore

ORIGIN = "bench.sigsvc.invalid/log"
KEY = Signer(ORIGIN, bytes(range(32)))
ENTRIES = int(os.environ.get("SIGSVC_BENCH_LOG_ENTRIES", "1000000"))
# A realistic leaf: signature.accepted is ~330 bytes of RFC 8785 JSON.
TEMPLATE = (
    '{"at":"2026-03-01T09:30:15.123Z","container_sha256":"%064x","indication":"TOTAL_PASSED",'
    '"initiative":"init-1","platform":"manabalss","signature":"s%d","signer":"%064x",'
    '"type":"signature.accepted","v":1}'
)


def leaf(i: int) -> bytes:
    return (TEMPLATE % (i, i, i * 7919)).encode()


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def appends(store: LogStore, label: str, singles: int, grouped: int) -> None:
    started = time.perf_counter()
    for i in range(singles):
        store.append([leaf(i)])
    one_each = time.perf_counter() - started

    writer = GroupCommitWriter(store, max_batch=1000)
    threads, per_thread = 32, grouped // 32
    started = time.perf_counter()

    def work(t: int) -> None:
        futures = [writer.submit(leaf(10**7 + t * per_thread + i)) for i in range(per_thread)]
        for f in futures:
            f.result()

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    writer_time = time.perf_counter() - started
    writer.close()

    started = time.perf_counter()
    for b in range(grouped // 1000):
        store.append([leaf(2 * 10**7 + b * 1000 + i) for i in range(1000)])
    batch_time = time.perf_counter() - started
    print(
        f"   {label}: one commit per event {_rate(singles, one_each)}; "
        f"group-commit writer (32 threads) {_rate(threads * per_thread, writer_time)}; "
        f"batches of 1000 {_rate(grouped // 1000 * 1000, batch_time)}"
    )


def proof_latency(label: str, run: Callable[[int], object], size: int, samples: int) -> None:
    rng = random.Random(7)  # noqa: S311 (sampling indexes, not secrets)
    times = []
    for _ in range(samples):
        index = rng.randrange(size)
        started = time.perf_counter()
        run(index)
        times.append((time.perf_counter() - started) * 1000)
    q = statistics.quantiles(times, n=100)
    print(f"   {label} at {size:,}: p50 {q[49]:.3f} ms, p99 {q[98]:.3f} ms")


def big_sqlite_log(path: Path, n: int) -> LogStore:
    store = LogStore(db.make_engine(f"sqlite:///{path}"), ORIGIN)
    db.upgrade(f"sqlite:///{path}")
    batch = 20_000
    for start in range(0, n, batch):
        store.append([leaf(i) for i in range(start, min(n, start + batch))])
    store.checkpoint([KEY])
    return store


@contextlib.contextmanager
def durable_postgres() -> Iterator[str | None]:
    """A private PostgreSQL cluster with default (durable) settings, or None if unavailable."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        yield None
        return
    bindir = Path(bins[-1]).parent
    workdir = Path(tempfile.mkdtemp(prefix="sigsvc-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = workdir / "data"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir}"
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(workdir / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sigsvc-bench-audit-") as tmp:
        work = Path(tmp)
        # 1. Durable appends.
        url = f"sqlite:///{work / 'appends.sqlite'}"
        db.upgrade(url)
        appends(LogStore(db.make_engine(url), ORIGIN), "SQLite", singles=300, grouped=10_000)
        with durable_postgres() as pg_url:
            if pg_url is None:
                print("   PostgreSQL: binaries not found, skipped")
            else:
                db.upgrade(pg_url)
                engine = db.make_engine(pg_url, pool_size=40)
                pg = LogStore(engine, ORIGIN)
                appends(pg, "PostgreSQL", singles=300, grouped=20_000)
                pg.checkpoint([KEY])
                size = pg.size()
                proof_latency(
                    "PostgreSQL inclusion proof", lambda i: pg.inclusion_proof(i, size), size, 500
                )
                engine.dispose()

        # 2. Proof latency at 1 M entries.
        memory = Log(MemoryStorage(), ORIGIN)
        started = time.perf_counter()
        for start in range(0, ENTRIES, 50_000):
            memory.append([leaf(i) for i in range(start, min(ENTRIES, start + 50_000))])
        print(f"   in-memory log of {ENTRIES:,} built in {time.perf_counter() - started:.1f} s")
        proof_latency(
            "in-memory inclusion proof", lambda i: memory.inclusion_proof(i, ENTRIES), ENTRIES, 2000
        )
        started = time.perf_counter()
        store = big_sqlite_log(work / "big.sqlite", ENTRIES)
        print(f"   SQLite log of {ENTRIES:,} built in {time.perf_counter() - started:.1f} s")
        proof_latency(
            "SQLite inclusion proof", lambda i: store.inclusion_proof(i, ENTRIES), ENTRIES, 1000
        )
        proof_latency(
            "SQLite consistency proof",
            lambda i: store.consistency_proof(max(1, i), ENTRIES),
            ENTRIES,
            1000,
        )
        root = store.latest_checkpoint()
        assert root is not None

        # 3. Offline verification of an export.
        export = work / "log.tar"
        started = time.perf_counter()
        with export.open("wb") as out:
            store.export(out)
        export_time = time.perf_counter() - started
        started = time.perf_counter()
        with export.open("rb") as stream:
            report = verify_export(stream, [KEY.verifier()])
        verify_time = time.perf_counter() - started
        assert report.size == ENTRIES and report.root == merkle.root_at(ENTRIES, memory.storage)
        print(
            f"   export of {ENTRIES:,} entries: {export.stat().st_size / 1e6:.0f} MB written in "
            f"{export_time:.1f} s; verified offline at {_rate(ENTRIES, verify_time)}"
        )
        store.engine.dispose()
