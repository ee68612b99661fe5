"""Store many synthetic accepted signatures fast, the way intake stores them, without verifying.

Each record has its ``signature.accepted`` log leaf, and names, personal code and container
sealed under the initiative's data key, so a batch export reads, decrypts and proves them as it
would real ones. The container is deterministic bytes (no crypto.verify). Used by the batch and
intake benchmarks to seed 100,000 records in seconds instead of hours of HTTP intake.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import Flask

from audit import events
from audit.log import Log
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.db.models.intake import DataKey, Eligibility, Signature, SignatureStatus
from sigsvc.intake import protection
from sigsvc.log.service import log_safe_uuid
from sigsvc.log.storage import SqlLogStorage

SIGNED_AT = datetime(2026, 6, 1, tzinfo=UTC)  # inside the bench initiative's period
CONTAINER_BYTES = 8 * 1024
CHUNK = 2000


def seed_exportable(app: Flask, n: int, registration: str = "BENCH-EXPORT") -> uuid.UUID:
    """A new initiative (own platform) holding ``n`` stored, not yet exported signatures."""
    intake = services.get(app)
    with db.session_scope(app) as session:
        initiative = registry.register_initiative(
            session,
            intake.log,
            registry.NewInitiative(
                regime=Regime.ART22_BILL,
                registration_number=registration,
                title="Bench",
                full_text=TEST_INITIATIVE_TEXT.decode(),
                starts_on=date(2026, 1, 1),
                ends_on=date(2026, 12, 31),
            ),
        )
        platform, _ = credentials.create_platform(
            session, services.log_service(app), f"{registration}-platform", [initiative.id]
        )
        iid, pid = initiative.id, platform.id
        dek = protection.generate_data_key()
        wrapped = protection.wrap_data_key(intake.kek, dek, iid)
        session.add(DataKey(initiative_id=iid, kek_id=wrapped.kek_id, wrapped=wrapped.blob))
    for start in range(0, n, CHUNK):
        with db.session_scope(app) as session:
            logged_at = intake.log.now(session)  # the log refuses event times that go backwards
            rows, leaves = [], []
            for i in range(start, min(n, start + CHUNK)):
                sid = log_safe_uuid()
                seed = hashlib.sha256(registration.encode() + i.to_bytes(8, "big")).digest()
                container = seed * (CONTAINER_BYTES // 32)
                digest = hashlib.sha256(container).hexdigest()
                leaves.append(
                    events.signature_accepted(
                        at=logged_at,
                        initiative=str(iid),
                        signature=str(sid),
                        platform=str(pid),
                        container_sha256=digest,
                        signer=seed.hex(),
                    )
                )

                def sealed(field: str, value: bytes, sid: object = sid) -> bytes:
                    return protection.seal(dek, value, protection.record_aad(iid, str(sid), field))

                rows.append(
                    {
                        "id": sid,
                        "initiative_id": iid,
                        "platform_id": pid,
                        "dedup_key": seed,
                        "status": SignatureStatus.ACCEPTED,
                        "eligibility": Eligibility.AGE_CHECKED,
                        "container_sha256": digest,
                        "signing_time": SIGNED_AT,
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
    return iid
