"""Signature intake end to end over HTTP against gunicorn, as deployed, on SQLite and PostgreSQL.

Containers are signed once with the TEST PKI (XAdES-LT: embedded OCSP, so the service fetches
nothing) and cached on disk between runs (``BENCH_CACHE``, default ``~/.cache/sigsvc-bench``). A
person may sign an initiative once, so the 3 accepting test signers each sign every one of
thousands of initiatives: every container is a distinct person-initiative pair, and every one
is accepted. Each phase draws its own containers, so no phase sees another's duplicates.

Phases, per backend, in two fresh databases (each phase its own containers):
1. unloaded: 20 sequential requests (p50/p99);
2. throughput: closed loop, ``CLIENTS`` concurrent clients, until at least 30 s **and** at least
   3,000 accepted (capped at ``MAX_SECONDS``): accepted/s, p50/p99;
3. open loop (requests sent on a fixed schedule, latency counted from the scheduled time, so a
   stalled server cannot hide its queue) at 50/s and at 150/s for ``OPEN_SECONDS`` each;
4. the same 50/s open loop while ``sigsvc batches create`` exports 100,000 signatures (of
   another initiative, seeded directly into the second database before its server starts) in
   another process: intake p50/p99/max during the export, and the export's duration.

PostgreSQL: ``SIGSVC_TEST_POSTGRES_URL``, else a private cluster with fsync and synchronous
commit on (production durability). SQLite: WAL, synchronous=FULL (as the service sets it).
The load generator runs on the same 2 cores as the server (it costs ~0.5 ms CPU a request).

    make bench ONLY=bench_intake
    BENCH_INTAKE_QUICK=1 make bench ONLY=bench_intake     # small smoke run, figures meaningless
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from audit.note import Signer as NoteSigner
from certification.testpki import RESPONDER_TIME, TEST_INITIATIVE, clients, serve_responders
from certification.testpki.sign import TEST_INITIATIVE_TEXT, make_form_edoc
from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.app import create_app

QUICK = os.environ.get("BENCH_INTAKE_QUICK") == "1"
SIGNERS = ("valid_p384", "valid_rsa", "no_prefix")
GENERATED = Path(__file__).resolve().parents[1] / "certification" / "testpki" / "generated"
ASICE = "application/vnd.etsi.asic-e+zip"
CLIENTS = int(os.environ.get("BENCH_INTAKE_CLIENTS", "32"))
MIN_SECONDS = 5.0 if QUICK else 30.0
MIN_ACCEPTED = 200 if QUICK else 3000
MAX_SECONDS = 20.0 if QUICK else 150.0
OPEN_SECONDS = 4.0 if QUICK else 20.0
EXPORT_RECORDS = 2_000 if QUICK else 100_000
# Containers per phase (each a distinct person-initiative pair). Two deployments per backend
# (fresh databases) reuse the same corpus: throughput in the first, the rest in the second.
FIRST = {"unloaded": 20, "throughput": 600 if QUICK else 9000}
SECOND = {
    "open50": int(50 * OPEN_SECONDS),
    "open150": int(150 * OPEN_SECONDS),
    "export": 400 if QUICK else 4500,  # 50/s for up to 90 s of export
}
N_INITIATIVES = -(-max(sum(FIRST.values()), sum(SECOND.values())) // len(SIGNERS))
CORPUS_VERSION = b"bench-intake-v1"


# --- corpus: signed once, cached on disk -------------------------------------------------------


def _registration(i: int) -> str:
    return f"BENCH-{i}"


def _corpus_dir() -> Path:
    root = Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "sigsvc-bench")
    tag = hashlib.sha256(CORPUS_VERSION)
    for path in sorted((GENERATED / "certs").rglob("*")):  # new certificates: a new corpus
        if path.is_file():
            tag.update(path.name.encode() + path.read_bytes())
    tag.update(RESPONDER_TIME.isoformat().encode())
    return root / f"intake-{tag.hexdigest()[:16]}"


_OCSP: dict[tuple[bytes, str], bytes] = {}


def _cached_ocsp(cert: Any, issuer: Any, **kwargs: Any) -> bytes:
    # The same signer's OCSP response at the same instant serves every initiative it signs.
    key = (bytes(cert.dump()), str(kwargs.get("at")))
    if key not in _OCSP:
        _OCSP[key] = _fetch_ocsp(cert, issuer, **kwargs)
    return _OCSP[key]


_fetch_ocsp = clients.fetch_ocsp


def _sign_range(job: tuple[Path, int, int]) -> int:
    directory, start, end = job
    clients.fetch_ocsp = _cached_ocsp  # type: ignore[assignment]
    with serve_responders():
        for i in range(start, end):
            initiative = replace(TEST_INITIATIVE, registration_number=_registration(i))
            for signer in SIGNERS:
                path = directory / f"{i:05d}-{signer}.edoc"
                if not path.exists():
                    body = make_form_edoc(signer, initiative=initiative, level="LT")
                    path.with_suffix(".tmp").write_bytes(body)
                    path.with_suffix(".tmp").rename(path)
    return end - start


def corpus(n_initiatives: int) -> list[tuple[int, bytes]]:
    """(initiative number, container) for n initiatives x 3 signers, signing what is missing."""
    directory = _corpus_dir()
    directory.mkdir(parents=True, exist_ok=True)
    missing = [
        i
        for i in range(n_initiatives)
        if not all((directory / f"{i:05d}-{s}.edoc").exists() for s in SIGNERS)
    ]
    if missing:
        started = time.perf_counter()
        step = 100
        jobs = [(directory, i, min(i + step, n_initiatives)) for i in range(0, n_initiatives, step)]
        jobs = [j for j in jobs if any(j[1] <= m < j[2] for m in missing)]
        with serve_responders(), ProcessPoolExecutor(2) as pool:
            list(pool.map(_sign_range, jobs))
        print(
            f"   signed {len(missing) * len(SIGNERS)} XAdES-LT containers in "
            f"{time.perf_counter() - started:.0f} s (cached in {directory})",
            flush=True,
        )
    out = []
    for i in range(n_initiatives):
        for signer in SIGNERS:
            out.append((i, (directory / f"{i:05d}-{signer}.edoc").read_bytes()))
    return out


def blocks(
    items: list[tuple[int, bytes]], sizes: dict[str, int]
) -> dict[str, list[tuple[int, bytes]]]:
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = items[start : start + size]
        start += size
    return out


# --- server ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployment:
    url: str
    tmp: Path
    env: dict[str, str]
    initiatives: list[str]
    platform_key: str
    export_initiative: str


def deploy(url: str, tmp: Path, export_records: int) -> Deployment:
    """Migrate, write keys, seed the initiatives and the 100,000 exportable signatures."""
    from bench.records import seed_exportable
    from certification.sealpki import operator_seal_files
    from certification.testpki import pki

    keys = tmp / "keys"
    keys.mkdir()
    for name in ("kek", "pseudonym"):
        (keys / name).write_text(base64.b64encode(os.urandom(32)).decode())
    (keys / "log.key").write_text(NoteSigner.generate("bench").skey)
    seal_key, seal_chain, _ = operator_seal_files(tmp)  # its OCSP is served: the seal is LT
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGSVC_", "DATABASE_URL"))}
    env.update(
        {
            "DATABASE_URL": url,
            "SIGSVC_INSTANCE_PATH": str(tmp / "instance"),
            "SIGSVC_LOG_LEVEL": "INFO",
            "SIGSVC_KEK_FILE": str(keys / "kek"),
            "SIGSVC_PSEUDONYM_KEY_FILE": str(keys / "pseudonym"),
            "SIGSVC_LOG_KEY_FILE": str(keys / "log.key"),
            "SIGSVC_TRUSTED_LISTS": str(GENERATED / "trusted-list.xml"),
            "SIGSVC_TL_SIGNERS": str(GENERATED / "certs" / "tl_operator.pem"),
            "SIGSVC_TEST_CLOCK": RESPONDER_TIME.isoformat(),
            "SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES": "1",  # the test PKI's responders (127.0.0.1)
            "SIGSVC_RATE_PLATFORM": "100000/100000",
            "SIGSVC_CHECKPOINT_INTERVAL": "2",
            "SIGSVC_BATCH_SEAL_KEY": str(seal_key),
            "SIGSVC_BATCH_SEAL_CERT": str(seal_chain),
            "SIGSVC_BATCH_TSA_URL": f"{pki.BASE_URL}/{pki.ARCH.value}/tsa/tsa",
            "SIGSVC_BATCH_DIR": str(tmp / "batches"),
        }
    )
    if os.environ.get("BENCH_INTAKE_THREADS"):
        env["SIGSVC_THREADS"] = os.environ["BENCH_INTAKE_THREADS"]
    db.upgrade(url)
    started = time.perf_counter()
    saved = dict(os.environ)
    os.environ.update(env)  # create_app reads the same environment the server will
    try:
        app = create_app({"LOG_LEVEL": "WARNING"})
        ids = []
        with db.session_scope(app) as session:
            for i in range(N_INITIATIVES):
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
            _, key = credentials.create_platform(
                session, services.log_service(app), "bench", [uuid.UUID(i) for i in ids]
            )
        export_id = seed_exportable(app, export_records) if export_records else None
        with contextlib.suppress(Exception):
            services.close(app)
        db.engine_of(app).dispose()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    print(
        f"   seeded {N_INITIATIVES} initiatives and {export_records} stored signatures in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return Deployment(url, tmp, env, ids, key, str(export_id))


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """`url` for SQLite (a new file), else a new database on the same PostgreSQL server."""
    if url.startswith("sqlite"):
        yield url
        return
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def sa_url(url: str) -> str:
    import sqlalchemy as sa

    parsed = sa.make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _get(base: str, path: str) -> int:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@contextlib.contextmanager
def gunicorn(deployment: Deployment) -> Iterator[tuple[str, list[int]]]:
    port = _free_port()
    workers = os.environ.get("BENCH_INTAKE_WORKERS", "2")
    code = f"from sigsvc.web.serve import run_gunicorn; run_gunicorn('127.0.0.1:{port}', {workers})"
    log_path = deployment.tmp / "server.log"
    metrics_dir = deployment.tmp / "metrics"  # read by group_stats
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**deployment.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("ab"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if _get(base, "/readyz") == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not become ready")
        for _ in range(8):  # every worker answering
            _get(base, "/readyz")
        roots = [server.pid]
        postmaster = postmaster_pid(deployment.url)
        if postmaster is not None:
            roots.append(postmaster)
        yield base, roots
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        limited = [line for line in log_path.read_text().splitlines() if "rate_limited" in line]
        if limited:
            print(f"   server: {len(limited)} rate_limited, first: {limited[0]}")


# --- CPU accounting ---------------------------------------------------------------------------
# The machine is shared: wall-clock rates move with everyone else's load. CPU seconds that the
# server (gunicorn master + workers, and PostgreSQL's postmaster + backends) spends per
# accepted signature do not, and give the capacity of two dedicated cores: 2 / (CPU s each).

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[1] is ppid; utime, stime, cutime, cstime are fields 14-17 of the full line
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / _TICK


def tree_cpu(roots: Sequence[int]) -> float:
    """CPU seconds of `roots` and all their live descendants (and of reaped children)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                stats[int(entry)] = found
    total, todo, seen = 0.0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo.extend(child for child, (ppid, _) in stats.items() if ppid == pid)
    return total


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server process listening on the URL's port (the bench's own cluster)."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql" or parsed.port is None:
        return None
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv[0].endswith(b"postgres") and str(parsed.port).encode() in argv:
                return int(entry)
    return None


# --- load ------------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection (http.client: less client CPU than requests)."""

    def __init__(self, base: str, key: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.key = host, int(port), key
        self.conn: http.client.HTTPConnection | None = None

    def post(self, initiative_id: str, body: bytes) -> int:
        key = uuid.uuid4().hex  # a retry after a dropped connection is the same request
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request(
                    "POST",
                    f"/v1/initiatives/{initiative_id}/signatures",
                    body=body,
                    headers={
                        "Authorization": f"Bearer {self.key}",
                        "Content-Type": ASICE,
                        "Idempotency-Key": key,
                    },
                )
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    return 599
        return 599


@dataclass
class Result:
    statuses: list[int]
    latencies: list[float]
    elapsed: float

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.statuses if s == 201)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else 0.0

    def others(self) -> str:
        counts: dict[int, int] = {}
        for s in self.statuses:
            if s != 201:
                counts[s] = counts.get(s, 0) + 1
        return ", ".join(f"{n}x{s}" for s, n in sorted(counts.items())) or "none"


def closed_loop(d: Deployment, base: str, work: Sequence[tuple[int, bytes]]) -> Result:
    """CLIENTS clients back to back until >= MIN_SECONDS and >= MIN_ACCEPTED (or MAX_SECONDS)."""
    items = iter(work)
    lock = threading.Lock()
    statuses: list[int] = []
    latencies: list[float] = []
    started = time.perf_counter()

    def done() -> bool:
        elapsed = time.perf_counter() - started
        enough = elapsed >= MIN_SECONDS and len(statuses) >= MIN_ACCEPTED
        return enough or elapsed >= MAX_SECONDS

    def run() -> None:
        client = Client(base, d.platform_key)
        while not done():
            with lock:
                item = next(items, None)
            if item is None:
                return
            t = time.perf_counter()
            status = client.post(d.initiatives[item[0]], item[1])
            with lock:
                statuses.append(status)
                latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=run) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(statuses, latencies, time.perf_counter() - started)


def open_loop(
    d: Deployment, base: str, work: Sequence[tuple[int, bytes]], rate: float, seconds: float
) -> Result:
    """Request k is due at t0 + k/rate; its latency counts from then (no coordinated omission)."""
    n = min(len(work), int(rate * seconds))
    counter = itertools.count()
    lock = threading.Lock()
    statuses: list[int] = []
    latencies: list[float] = []
    t0 = time.perf_counter() + 0.2

    def run() -> None:
        client = Client(base, d.platform_key)
        while True:
            with lock:
                k = next(counter)
            if k >= n:
                return
            due = t0 + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            i, body = work[k]
            status = client.post(d.initiatives[i], body)
            with lock:
                statuses.append(status)
                latencies.append(time.perf_counter() - due)

    threads = [threading.Thread(target=run) for _ in range(min(n, 256))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Result(statuses, latencies, time.perf_counter() - t0)


def during_export(
    d: Deployment, base: str, work: Sequence[tuple[int, bytes]]
) -> tuple[Result, float, str]:
    """50/s open loop while `sigsvc batches create` exports the seeded signatures."""
    rate = 50.0
    sigsvc = str(Path(sys.executable).parent / "sigsvc")
    export = subprocess.Popen(
        [sigsvc, "batches", "create", d.export_initiative],
        env={**d.env, "SIGSVC_LOG_LEVEL": "WARNING"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    started = time.perf_counter()
    statuses: list[int] = []
    latencies: list[float] = []
    offset = 0
    while export.poll() is None and offset < len(work):  # 5 s slices until the export ends
        chunk = work[offset : offset + int(rate * 5)]
        offset += len(chunk)
        r = open_loop(d, base, chunk, rate, 5.0)
        statuses += r.statuses
        latencies += r.latencies
    out, err = export.communicate(timeout=600)
    export_s = time.perf_counter() - started
    if export.returncode != 0:
        return Result(statuses, latencies, export_s), export_s, f"export failed: {err[-300:]!r}"
    count = json.loads(out)["count"]
    return Result(statuses, latencies, export_s), export_s, f"{count} signatures exported"


# --- report ----------------------------------------------------------------------------------


def group_stats(directory: Path) -> tuple[float, float, float]:
    """(seconds the log lock was held, groups, requests) over the server's intake groups so
    far (sigsvc.metrics.group_committed, from the workers' multiprocess files)."""
    from prometheus_client import CollectorRegistry, multiprocess

    if not directory.is_dir():
        return 0.0, 0.0, 0.0
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    found = {s.name: s.value for m in registry.collect() for s in m.samples}
    return (
        found.get("sigsvc_intake_group_lock_held_seconds_sum", 0.0),
        found.get("sigsvc_intake_group_lock_held_seconds_count", 0.0),
        found.get("sigsvc_intake_group_jobs_total", 0.0),
    )


def run_backend(label: str, url: str, corpus_items: list[tuple[int, bytes]]) -> None:
    phases = os.environ.get("BENCH_INTAKE_PHASES", "throughput,latency").split(",")
    if "throughput" in phases:
        _first(label, url, corpus_items)
    if "latency" in phases:
        _second(label, url, corpus_items)


def _first(label: str, url: str, corpus_items: list[tuple[int, bytes]]) -> None:
    work = blocks(corpus_items, FIRST)
    with tempfile.TemporaryDirectory() as tmp_name, fresh_database(url) as url1:
        if url1.startswith("sqlite"):
            url1 = f"sqlite:///{Path(tmp_name) / 'first.sqlite'}"
        d = deploy(url1, Path(tmp_name), 0)
        with gunicorn(d) as (base, roots):
            client = Client(base, d.platform_key)
            unloaded = []
            for i, body in work["unloaded"]:
                t = time.perf_counter()
                client.post(d.initiatives[i], body)
                unloaded.append(time.perf_counter() - t)
            u = Result([201] * len(unloaded), unloaded, 0)
            print(
                f"   {label:<10} unloaded: p50 {u.pct(0.5):6.1f} ms  p99 {u.pct(0.99):6.1f} ms "
                f"(one client, {len(unloaded)} requests)",
                flush=True,
            )
            cpu, load = tree_cpu(roots), os.getloadavg()[0]
            groups = group_stats(d.tmp / "metrics")
            t = closed_loop(d, base, work["throughput"])
            cpu = (tree_cpu(roots) - cpu) / max(1, t.accepted)
            after = group_stats(d.tmp / "metrics")
            held, count, jobs = (a - b for a, b in zip(after, groups, strict=True))
            print(
                f"   {label:<10} throughput: {t.accepted / t.elapsed:6.1f} accepted/s "
                f"({t.accepted} accepted in {t.elapsed:.1f} s, {CLIENTS} clients; p50 "
                f"{t.pct(0.5):.0f} ms p99 {t.pct(0.99):.0f} ms; others: {t.others()})\n"
                f"   {label:<10} server CPU {cpu * 1000:.1f} ms per accepted signature -> "
                f"{2 / cpu:.0f}/s on 2 dedicated cores (load average {load:.1f} -> "
                f"{os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if count:
                print(
                    f"   {label:<10} intake groups: {jobs / count:.1f} requests a group, log lock "
                    f"held {held / count * 1000:.1f} ms a group ({held / max(1, jobs) * 1000:.2f} "
                    "ms a request)",
                    flush=True,
                )


def _second(label: str, url: str, corpus_items: list[tuple[int, bytes]]) -> None:
    work = blocks(corpus_items, SECOND)
    with tempfile.TemporaryDirectory() as tmp_name, fresh_database(url) as url2:
        if url2.startswith("sqlite"):
            url2 = f"sqlite:///{Path(tmp_name) / 'second.sqlite'}"
        d = deploy(url2, Path(tmp_name), EXPORT_RECORDS)
        with gunicorn(d) as (base, _):
            for rate, name in ((50.0, "open50"), (150.0, "open150")):
                r = open_loop(d, base, work[name], rate, OPEN_SECONDS)
                print(
                    f"   {label:<10} offered {rate:3.0f}/s: p50 {r.pct(0.5):7.1f} ms  p99 "
                    f"{r.pct(0.99):7.1f} ms  ({r.accepted}/{len(r.statuses)} accepted over "
                    f"{OPEN_SECONDS:.0f} s; others: {r.others()}; load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            r, export_s, what = during_export(d, base, work["export"])
            print(
                f"   {label:<10} during export: offered 50/s: p50 {r.pct(0.5):7.1f} ms  p99 "
                f"{r.pct(0.99):7.1f} ms  max {r.pct(1.0):7.1f} ms ({r.accepted}/"
                f"{len(r.statuses)} accepted; others: {r.others()}); export {export_s:.1f} s "
                f"({what})",
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
    with _private_cluster(bindir, durable=True) as server:
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
    with serve_responders():  # the test PKI's TSA and OCSP for the batch seal (run in a netns)
        _main()


def _main() -> None:
    work = corpus(N_INITIATIVES)
    print(
        f"   conditions: {os.cpu_count()} CPUs shared with other work, load generator on the "
        f"same machine; gunicorn {os.environ.get('BENCH_INTAKE_WORKERS', '2')} workers x "
        f"{os.environ.get('BENCH_INTAKE_THREADS', 'default')} threads",
        flush=True,
    )
    only = os.environ.get("BENCH_INTAKE_BACKENDS", "sqlite,postgresql").split(",")
    if "sqlite" in only:
        run_backend("sqlite", "sqlite://", work)
    if "postgresql" in only:
        with postgres_url() as pg:
            if pg is None:
                print("   postgresql skipped: no server (set SIGSVC_TEST_POSTGRES_URL)")
            else:
                run_backend("postgresql", pg, work)


if __name__ == "__main__":
    main()
