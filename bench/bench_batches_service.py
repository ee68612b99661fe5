"""Service-level batch export: ``sigsvc.export.batches.export`` on SQLite, from stored records.

Synthetic signatures are stored by ``bench.records.seed_exportable`` (the way intake stores them,
without crypto.verify). The figure covers what the service
adds over bench_batch (reading and decrypting records, log proofs from the database, marking
signatures exported, logging). Each size runs in a fresh child process (own peak RSS).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

SIZES = (10_000, 100_000)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def one(n: int) -> dict[str, float]:
    from bench.records import seed_exportable
    from certification.sealpki import operator_seal_files
    from certification.testpki import pki, serve_responders
    from sigsvc import db, services
    from sigsvc.app import create_app
    from sigsvc.export import batches
    from tests.signatures.conftest import intake_settings

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
        db.upgrade(url)
        key, chain, _ = operator_seal_files(tmp)  # its OCSP is served: the seal is LT
        app = create_app(
            {
                "DATABASE_URL": url,
                **intake_settings(tmp),
                "BATCH_DIR": str(tmp / "batches"),
                "BATCH_SEAL": {
                    "SIGSVC_BATCH_SEAL_KEY": str(key),
                    "SIGSVC_BATCH_SEAL_CERT": str(chain),
                    "SIGSVC_BATCH_TSA_URL": f"{pki.BASE_URL}/{pki.ARCH.value}/tsa/tsa",
                },
            },
            instance_path=str(tmp / "instance"),
        )
        intake = services.get(app)
        iid = seed_exportable(app, n)
        with serve_responders():  # the test PKI's TSA and OCSP (run the bench in a netns)
            base = _rss_mb()
            started = time.perf_counter()
            result = batches.export(app, intake, iid, datetime.now(UTC))
            export_s = time.perf_counter() - started
        assert result["count"] == n
        size_mb = result["artefact_bytes"] / 1e6
        services.close(app)
        db.engine_of(app).dispose()
    return {
        "entries": n,
        "batch_mb": round(size_mb, 1),
        "export_s": round(export_s, 2),
        "rss_before_mb": round(base, 1),
        "rss_peak_mb": round(_rss_mb(), 1),
    }


def main() -> None:
    for n in SIZES:
        child = subprocess.run(
            [sys.executable, "-m", "bench.bench_batches_service", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(
            f"   {r['entries']:>7} stored signatures -> batch {r['batch_mb']} MB exported by the "
            f"service in {r['export_s']} s (SQLite; RSS {r['rss_before_mb']} -> "
            f"{r['rss_peak_mb']} MB peak)",
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) == 2:
        print(json.dumps(one(int(sys.argv[1]))))
    else:
        main()
