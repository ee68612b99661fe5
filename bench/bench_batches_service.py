"""Service-level batch export: ``sigsvc.export.batches.export`` on SQLite, from stored records.

Synthetic signatures are stored the way intake stores them (a ``signature.accepted`` log leaf,
names, personal code and container sealed under the initiative's data key) but without
crypto.verify: the container is 8 KiB of deterministic bytes. The figure covers what the service
adds over bench_batch (reading and decrypting records, log proofs from the database, marking
signatures exported, logging). Each size runs in a fresh child process (own peak RSS).
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

SIZES = (10_000, 100_000)
CONTAINER_BYTES = 8 * 1024
CHUNK = 2000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def one(n: int) -> dict[str, float]:
    import sqlalchemy as sa

    from audit import events
    from audit.log import Log
    from certification.sealpki import operator_seal_files
    from certification.testpki import pki, serve_responders
    from certification.testpki.sign import TEST_INITIATIVE_TEXT
    from crypto.form import Regime
    from sigsvc import credentials, db, registry, services
    from sigsvc.app import create_app
    from sigsvc.db.models.intake import DataKey, Eligibility, Signature, SignatureStatus
    from sigsvc.export import batches
    from sigsvc.intake import protection
    from sigsvc.log.service import log_safe_uuid
    from sigsvc.log.storage import SqlLogStorage
    from tests.signatures.conftest import intake_settings

    at = datetime(2026, 6, 1, tzinfo=UTC)
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
        with db.session_scope(app) as session:
            initiative = registry.register_initiative(
                session,
                intake.log,
                registry.NewInitiative(
                    regime=Regime.ART22_BILL,
                    registration_number="BENCH-1",
                    title="Bench",
                    full_text=TEST_INITIATIVE_TEXT.decode(),
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 12, 31),
                ),
            )
            platform, _ = credentials.create_platform(
                session, services.log_service(app), "bench", [initiative.id]
            )
            iid, pid = initiative.id, platform.id
            dek = protection.generate_data_key()
            wrapped = protection.wrap_data_key(intake.kek, dek, iid)
            session.add(DataKey(initiative_id=iid, kek_id=wrapped.kek_id, wrapped=wrapped.blob))
        for start in range(0, n, CHUNK):
            with db.session_scope(app) as session:
                rows, leaves = [], []
                for i in range(start, min(n, start + CHUNK)):
                    sid = log_safe_uuid()
                    seed = hashlib.sha256(i.to_bytes(8, "big")).digest()
                    container = seed * (CONTAINER_BYTES // 32)
                    digest = hashlib.sha256(container).hexdigest()
                    leaves.append(
                        events.signature_accepted(
                            at=at,
                            initiative=str(iid),
                            signature=str(sid),
                            platform=str(pid),
                            container_sha256=digest,
                            signer=seed.hex(),
                        )
                    )

                    def sealed(field: str, value: bytes, sid: object = sid) -> bytes:
                        aad = protection.record_aad(iid, str(sid), field)
                        return protection.seal(dek, value, aad)

                    rows.append(
                        {
                            "id": sid,
                            "initiative_id": iid,
                            "platform_id": pid,
                            "dedup_key": seed,
                            "status": SignatureStatus.ACCEPTED,
                            "eligibility": Eligibility.AGE_CHECKED,
                            "container_sha256": digest,
                            "signing_time": at,
                            "given_name_enc": sealed("given_name", "JĀNIS".encode()),
                            "surname_enc": sealed("surname", "BĒRZIŅŠ".encode()),
                            "personal_code_enc": sealed("personal_code", b"010180-10006"),
                            "container_enc": sealed("container", container),
                            "container_format": "ASiC-E/XAdES",
                        }
                    )
                storage = SqlLogStorage(session)
                indexes = Log(storage, intake.log.origin).append_events(leaves)
                for row, index in zip(rows, indexes, strict=True):
                    row["leaf_index"] = index
                session.execute(sa.insert(Signature), rows)
        with serve_responders():  # the test PKI's TSA and OCSP (run the bench in a netns)
            base = _rss_mb()
            started = time.perf_counter()
            result = batches.export(app, intake, iid, at)
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
