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
    from audit.log import Log
    from audit.note import Signer
    from audit.storage import MemoryStorage
    from certification.sealpki import make_seal_pki
    from sigsvc.export.seal import FileSealer
    from sigsvc.export.writer import BatchInfo, EntryRecord, InitiativeInfo, LogProofs, write_batch

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
        # Verification in a fresh process: its own peak RSS, no log in memory.
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench_batch",
                "--verify",
                str(summary.path),
                str(ca),
                signer.verifier().vkey,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        verified = json.loads(child.stdout.strip().splitlines()[-1])
        assert verified["count"] == n
        verify_s = verified["verify_s"]
    return {
        "entries": n,
        "log_size": log.size,
        "batch_mb": round(size_mb, 1),
        "write_s": round(write_s, 2),
        "rss_before_write_mb": round(base, 1),
        "rss_peak_after_write_mb": round(write_peak, 1),
        "verify_s": round(verify_s, 2),
        "verify_entries_per_s": round(n / verify_s),
        "verify_rss_peak_mb": verified["rss_mb"],
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
            f"(verifier process peak RSS {r['verify_rss_peak_mb']} MB)",
            flush=True,
        )


def verify(path: str, ca: str, vkey: str) -> dict[str, float]:
    from audit.batch import ZipBatchArchive, verify_batch
    from audit.cli_batch import seal_checker
    from audit.note import Verifier

    seal_check = seal_checker([Path(ca).read_bytes()])  # imports crypto: outside the timing
    started = time.perf_counter()
    with Path(path).open("rb") as stream:
        report = verify_batch(
            ZipBatchArchive(stream), [Verifier.from_vkey(vkey)], seal_check=seal_check
        )
    elapsed = time.perf_counter() - started
    return {"count": report.count, "verify_s": round(elapsed, 2), "rss_mb": round(_rss_mb(), 1)}


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--verify":
        print(json.dumps(verify(*sys.argv[2:])))
    elif len(sys.argv) == 2:
        print(json.dumps(one(int(sys.argv[1]))))
    else:
        main()
