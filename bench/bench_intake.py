"""Signature intake end to end over HTTP against gunicorn (2 workers x 4 threads), as deployed.

Containers are signed before timing (TEST PKI, XAdES-LT: embedded OCSP, so the service fetches
nothing); a person may sign an initiative once, so the 3 accepting test signers sign many
initiatives. Phase 1: accepted signatures per second with 16 concurrent clients. Phase 2:
latency (p50/p99) at a steady, open-loop 50 requests/s. SQLite file (synchronous=FULL) and
PostgreSQL (SIGSVC_TEST_POSTGRES_URL, else a private cluster as in the tests: fsync off).

    make bench ONLY=bench_intake   (also bench_intake_parts); BENCH_INTAKE_INITIATIVES=60 ->
    20 sequential (unloaded latency), 60 with 16 clients (throughput), 100 at 50/s
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path

import requests

from audit.note import Signer as NoteSigner
from certification.testpki import RESPONDER_TIME, TEST_INITIATIVE, make_form_edoc, serve_responders
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto.form import Regime
from sigsvc import db, registry, services
from sigsvc.app import create_app

SIGNERS = ("valid_p384", "valid_rsa", "no_prefix")
GENERATED = Path(__file__).resolve().parents[1] / "certification" / "testpki" / "generated"
RATE = 50.0
ASICE = "application/vnd.etsi.asic-e+zip"


def _registration(i: int) -> str:
    return f"BENCH-{i}"


def _sign(job: tuple[int, str]) -> tuple[int, bytes]:
    i, signer = job
    initiative = replace(TEST_INITIATIVE, registration_number=_registration(i))
    with serve_responders():
        return i, make_form_edoc(signer, initiative=initiative, level="LT")


def prepare(n_initiatives: int) -> list[tuple[int, bytes]]:
    jobs = [(i, s) for i in range(n_initiatives) for s in SIGNERS]
    with serve_responders(), ProcessPoolExecutor(2) as pool:
        return list(pool.map(_sign, jobs, chunksize=8))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, n_initiatives: int, tmp: Path) -> tuple[list[str], str]:
    db.upgrade(url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}, instance_path=str(tmp))
    ids = []
    with db.session_scope(app) as session:
        for i in range(n_initiatives):
            created = registry.register_initiative(
                session,
                services.log_service(app),
                registry.NewInitiative(
                    regime=Regime.ART22_BILL,
                    registration_number=_registration(i),
                    title=TEST_INITIATIVE.title,
                    full_text=TEST_INITIATIVE_TEXT.decode(),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 12, 31),
                ),
            )
            ids.append(str(created.id))
        session.flush()
        _, key = registry.create_platform(session, "bench", [uuid.UUID(i) for i in ids])
    db.engine_of(app).dispose()
    return ids, key


@contextlib.contextmanager
def gunicorn(url: str, tmp: Path) -> Iterator[str]:
    keys = tmp / "keys"
    keys.mkdir()
    for name in ("kek", "pseudonym"):
        (keys / name).write_text(base64.b64encode(os.urandom(32)).decode())
    (keys / "log.key").write_text(NoteSigner.generate("bench").skey)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(
        {
            "DATABASE_URL": url,
            "SIGSVC_LOG_LEVEL": "INFO",
            "SIGSVC_KEK_FILE": str(keys / "kek"),
            "SIGSVC_PSEUDONYM_KEY_FILE": str(keys / "pseudonym"),
            "SIGSVC_LOG_KEY_FILE": str(keys / "log.key"),
            "SIGSVC_TRUSTED_LISTS": str(GENERATED / "trusted-list.xml"),
            "SIGSVC_TL_SIGNERS": str(GENERATED / "certs" / "tl_operator.pem"),
            "SIGSVC_TEST_CLOCK": RESPONDER_TIME.isoformat(),
            "SIGSVC_RATE_PLATFORM": "100000/100000",
            "SIGSVC_CHECKPOINT_INTERVAL": "2",
        }
    )
    port = _free_port()
    code = f"from sigsvc.web.serve import run_gunicorn; run_gunicorn('127.0.0.1:{port}', 2)"
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "server.log").open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(f"{base}/readyz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not become ready")
        for _ in range(4):  # every worker warm (trust built at start; first verification)
            requests.get(f"{base}/readyz", timeout=10)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        limited = [
            line for line in (tmp / "server.log").read_text().splitlines() if "rate_limited" in line
        ]
        if limited:
            print(f"   server: {len(limited)} rate_limited, first: {limited[0]}")


_local = threading.local()


def _post(base: str, key: str, initiative_id: str, body: bytes) -> tuple[int, float]:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    started = time.perf_counter()
    response = session.post(
        f"{base}/v1/initiatives/{initiative_id}/signatures",
        data=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": ASICE,
            "Idempotency-Key": uuid.uuid4().hex,
        },
        timeout=60,
    )
    return response.status_code, time.perf_counter() - started


def run_backend(label: str, url: str, containers: list[tuple[int, bytes]], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ids, key = seed(url, n, tmp)
        with gunicorn(url, tmp) as base:
            quiet, burst, steady = containers[:20], containers[20:80], containers[80:]
            unloaded = sorted(_post(base, key, ids[i], body)[1] for i, body in quiet)
            started = time.perf_counter()
            with ThreadPoolExecutor(16) as pool:
                results = list(pool.map(lambda c: _post(base, key, ids[c[0]], c[1]), burst))
            elapsed = time.perf_counter() - started
            accepted = sum(1 for status, _ in results if status == 201)
            wanted = len(steady)
            latencies: list[float] = []
            statuses: list[int] = []
            lock = threading.Lock()

            def timed(item: tuple[int, tuple[int, bytes]]) -> None:
                k, (i, body) = item
                delay = t0 + k / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                status, latency = _post(base, key, ids[i], body)
                with lock:
                    statuses.append(status)
                    latencies.append(latency)

            t0 = time.perf_counter() + 0.2
            with ThreadPoolExecutor(64) as pool:
                list(pool.map(timed, enumerate(steady)))
    print(
        f"   {label:<11} one client: p50 {statistics.median(unloaded) * 1000:5.1f} ms  "
        f"p99 {unloaded[-1] * 1000:5.1f} ms (sequential, {len(unloaded)} requests)",
        flush=True,
    )
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    ok = sum(1 for s in statuses if s == 201)
    others = sorted(s for s in [*statuses, *(st for st, _ in results)] if s != 201)
    print(
        f"   {label:<11} {accepted / elapsed:7.1f} accepted/s ({accepted}/{len(burst)} in "
        f"{elapsed:.1f} s, 16 clients)\n               offered {RATE:.0f}/s: p50 {p50:6.1f} ms  "
        f"p99 {p99:6.1f} ms ({ok}/{wanted} accepted; others: {others or 'none'})",
        flush=True,
    )


@contextlib.contextmanager
def postgres_url() -> Iterator[str | None]:
    given = os.environ.get("SIGSVC_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        from tests.conftest import _pg_bindir, _private_cluster
    except ImportError:
        yield None
        return
    bindir = _pg_bindir()
    if bindir is None:
        yield None
        return
    with _private_cluster(bindir) as server:
        import psycopg

        with psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.username,
            dbname="postgres",
            autocommit=True,
        ) as conn:
            conn.execute("CREATE DATABASE bench_intake")
        yield server.set(database="bench_intake").render_as_string(hide_password=False)


def main() -> None:
    n = max(34, int(os.environ.get("BENCH_INTAKE_INITIATIVES", "60")))
    started = time.perf_counter()
    containers = prepare(n)
    print(
        f"   prepared {len(containers)} XAdES-LT containers ({n} initiatives x "
        f"{len(SIGNERS)} signers) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", containers, n)
    with postgres_url() as pg:
        if pg is None:
            print("   postgresql  skipped: no server (set SIGSVC_TEST_POSTGRES_URL)")
        else:
            run_backend("postgresql", pg, containers, n)


if __name__ == "__main__":
    main()
