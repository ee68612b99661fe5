"""Where an accepted signature's time goes: cProfile of intake in one process (Flask test
client, one client: the same code path as a gunicorn worker minus HTTP parsing), over the
bench corpus. CPU time (per thread), per accepted signature, in the request thread and in
the writer.

    .venv/bin/python -m bench.profile_intake [N] [sqlite|postgresql]    (not part of make bench)

docs/adr/intake.md ("Profile") quotes its output.
"""

from __future__ import annotations

import contextlib
import cProfile
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.bench_intake import ASICE, SIGNERS, corpus, deploy, postgres_url

# (label, file suffix, function): cumulative wall time in the request thread ...
REQUEST_PARTS = (
    ("whole request in Flask (wsgi_app)", "flask/app.py", "wsgi_app"),
    ("crypto.verify", "crypto/verify.py", "verify"),
    ("  container: zip and structure", "crypto/_internal/asic.py", "parse_asic"),
    (
        "  XAdES: parse, references, signature value",
        "crypto/_internal/xades.py",
        "parse_and_verify",
    ),
    ("  time stamp token and TSA", "crypto/_internal/pipeline.py", "_timestamp"),
    ("  path to the anchor (shared above the leaf)", "crypto/_internal/chain.py", "trusted_path"),
    ("  qualification", "crypto/_internal/qualification.py", "check_qualified"),
    (
        "  revocation evidence and path validation",
        "crypto/_internal/pipeline.py",
        "_validate_with_revocation",
    ),
    ("    pyhanko-certvalidator path validation", "crypto/_internal/chain.py", "validate"),
    ("waiting for the group commit", "concurrent/futures/_base.py", "result"),
    ("idempotency lookup (replay check)", "sigsvc/intake/submit.py", "_replay"),
    ("form prepared before the lock (seal, ids, event)", "sigsvc/intake/group.py", "prepare"),
    ("authentication + platform check (cached)", "sigsvc/web/auth.py", "require_platform"),
    ("initiative lookup (cached)", "sigsvc/registry.py", "cached_initiative"),
    ("request fingerprint", "sigsvc/intake/idempotency.py", "request_fingerprint"),
)
# ... and in the writer thread.
WRITER_PARTS = (
    ("one group transaction", "sigsvc/intake/writer.py", "_commit"),
    ("  log lock", "sigsvc/log/storage.py", "lock"),
    ("  signer rate limit", "sigsvc/intake/ratelimit.py", "hit_in"),
    ("  group.write(): the forms decided and written", "sigsvc/intake/group.py", "write"),
    ("  accept(): dedup, seal, record, leaf", "sigsvc/intake/signatures.py", "accept"),
    ("    log append", "audit/log.py", "append"),
    ("    idempotency record", "sigsvc/intake/idempotency.py", "remember"),
    ("  checkpoint check/cut", "sigsvc/log/service.py", "cut_if_due"),
    ("  commit (durable)", "sqlalchemy/orm/session.py", "commit"),
)


def _cumulative(profile: cProfile.Profile, suffix: str, function: str) -> float:
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(
        v[3] for (path, _, name), v in stats.items() if path.endswith(suffix) and name == function
    )


@contextlib.contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'profile.sqlite'}"
        return
    with postgres_url() as url:
        assert url is not None, "no PostgreSQL"
        yield url


def main(n: int, backend: str) -> None:
    from sigsvc.intake import writer as intake_writer

    items = corpus(-(-n // len(SIGNERS)))[:n]
    writer_profile = cProfile.Profile()
    commit = intake_writer.GroupWriter._commit

    def profiled_commit(self: intake_writer.GroupWriter, group: list[Any]) -> None:
        writer_profile.enable()  # in the writer thread
        try:
            commit(self, group)
        finally:
            writer_profile.disable()

    intake_writer.GroupWriter._commit = profiled_commit  # type: ignore[method-assign]
    with _database(backend) as url, tempfile.TemporaryDirectory() as tmp:
        d = deploy(url, Path(tmp), 0)
        os.environ.update(d.env)
        from sigsvc.app import create_app

        app = create_app()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {d.platform_key}", "Content-Type": ASICE}

        def post(i: int, body: bytes) -> int:
            key = {"Idempotency-Key": uuid.uuid4().hex}
            path = f"/v1/initiatives/{d.initiatives[i]}/signatures"
            return client.post(path, data=body, headers={**headers, **key}).status_code

        for i, body in items[:10]:  # warm: trust built, first verification, caches
            post(i, body)
        # CPU time of each thread, not wall time: on a shared machine waiting for a core would
        # otherwise be charged to whatever ran before it.
        writer_profile = cProfile.Profile(time.thread_time)
        profile = cProfile.Profile(time.thread_time)
        cpu, wall = time.process_time(), time.perf_counter()
        profile.enable()
        statuses = [post(i, body) for i, body in items[10:]]
        profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    accepted = statuses.count(201)
    per = 1000 / accepted
    print(
        f"   {backend}: {accepted}/{len(statuses)} accepted, one client, profiled: wall "
        f"{wall * per:.1f} ms, process CPU {cpu * per:.1f} ms per accepted signature (the "
        "database server's CPU not included)"
    )
    print(f"   request thread (CPU; shares of the process CPU {cpu * per:.1f} ms):")
    for label, suffix, function in REQUEST_PARTS:
        spent = _cumulative(profile, suffix, function)
        print(f"     {label:<44} {spent * per:6.2f} ms  {spent / cpu * 100:5.1f} %")
    print("   writer thread (CPU):")
    for label, suffix, function in WRITER_PARTS:
        spent = _cumulative(writer_profile, suffix, function)
        print(f"     {label:<44} {spent * per:6.2f} ms  {spent / cpu * 100:5.1f} %")
    if os.environ.get("PROFILE_TOP"):
        pstats.Stats(profile).sort_stats("tottime").print_stats(int(os.environ["PROFILE_TOP"]))


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 300,
        sys.argv[2] if len(sys.argv) > 2 else "sqlite",
    )
