"""Batch export and offline verification: time, peak memory, verification rate.

Synthetic entries: each container is 8 KiB of deterministic bytes (the size of a real LT .edoc
from the test PKI, ~8.7 KB), NOT a signed container, so the figures cover the batch machinery
(ZIP, manifest, multiproof, seal) and not crypto.verify. The log holds two events per accepted
signature (an unrelated one between), so the multiproof is that of a scattered batch.
Each size runs in a fresh child process so ru_maxrss is that run's own peak.
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

SIZES = (10_000, 100_000)
CONTAINER_BYTES = 8 * 1024


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _container(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * (CONTAINER_BYTES // 32)


def one(n: int) -> dict[str, float]:
    from audit import events
    from audit.batch import ZipBatchArchive, verify_batch
    from audit.cli_batch import seal_checker
    from audit.log import Log
    from audit.note import Signer
    from audit.storage import MemoryStorage
    from sigsvc.batch.seal import FileSealer
    from sigsvc.batch.writer import BatchInfo, EntryRecord, InitiativeInfo, LogProofs, write_batch
    from tests.batch.sealpki import make_seal_pki

    at = datetime(2026, 3, 3, tzinfo=UTC)
    log, signer = Log(MemoryStorage(), "bench.example/log"), Signer.generate("bench-log")
    indexes: list[int] = []
    for start in range(0, n, 1000):
        batch = []
        for i in range(start, min(n, start + 1000)):
            digest = hashlib.sha256(_container(i)).hexdigest()
            batch.append(
                events.signature_accepted(
                    at=at,
                    initiative="init-1",
                    signature=f"sig-{i}",
                    platform="p",
                    container_sha256=digest,
                    signer=digest,
                )
            )
            batch.append(events.initiative_closed(at=at, initiative="x", reason="N", accepted=i))
        indexes.extend(log.append_events(batch)[::2])
    note = log.checkpoint([signer])

    def entries() -> Iterator[EntryRecord]:
        for i, index in enumerate(indexes):
            (leaf,) = log.storage.entries(index, index + 1)
            yield EntryRecord(
                f"sig-{i}",
                index,
                leaf,
                _container(i),
                "application/vnd.etsi.asic-e+zip",
                "LĪGA",
                "OZOLIŅA",
                "327811-40213",
                date(2026, 3, 2),
            )

    with tempfile.TemporaryDirectory() as tmp:
        key, chain, ca = make_seal_pki().write(Path(tmp))
        sealer = FileSealer.from_files(key, chain)
        ini = InitiativeInfo("init-1", "TEST-2026/1", "Bench", "0" * 64, "art22_bill")
        base = _rss_mb()
        started = time.perf_counter()
        summary = write_batch(
            Path(tmp) / "batch.asice",
            BatchInfo("batch-1", 1, at, ini),
            entries(),
            LogProofs(log.origin, signer.verifier().vkey, note, log.storage),
            sealer,
        )
        write_s = time.perf_counter() - started
        write_peak = _rss_mb()
        size_mb = summary.path.stat().st_size / 1e6
        seal_check = seal_checker([ca.read_bytes()])  # imports crypto: outside the timing
        started = time.perf_counter()
        with summary.path.open("rb") as stream:
            report = verify_batch(
                ZipBatchArchive(stream), [signer.verifier()], seal_check=seal_check
            )
        verify_s = time.perf_counter() - started
        assert report.count == n
    return {
        "entries": n,
        "log_size": log.size,
        "batch_mb": round(size_mb, 1),
        "write_s": round(write_s, 2),
        "rss_before_write_mb": round(base, 1),
        "rss_peak_after_write_mb": round(write_peak, 1),
        "verify_s": round(verify_s, 2),
        "verify_entries_per_s": round(n / verify_s),
        "rss_peak_after_verify_mb": round(_rss_mb(), 1),
    }


def main() -> None:
    for n in SIZES:
        child = subprocess.run(
            [sys.executable, "-m", "bench.bench_batch", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"   {r['entries']:>7} entries (log {r['log_size']}): batch {r['batch_mb']} MB "
            f"written in {r['write_s']} s (RSS {r['rss_before_write_mb']} -> "
            f"{r['rss_peak_after_write_mb']} MB peak, log in memory included); verified in "
            f"{r['verify_s']} s = {r['verify_entries_per_s']} entries/s "
            f"(peak RSS {r['rss_peak_after_verify_mb']} MB)",
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) == 2:
        print(json.dumps(one(int(sys.argv[1]))))
    else:
        main()
