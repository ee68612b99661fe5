"""Retention: delete a batch's personal data once CVK has had it long enough.

For each batch acknowledged more than ``SIGSVC_RETENTION_DAYS`` before ``now``: delete its
signatures' sealed records (names, personal code, container) and the batch artefact (it holds
the same data in clear), log ``data.purged`` (scope ``BATCH_RECORDS``) and mark it purged.
When afterwards every accepted signature of the initiative is in a purged batch, destroy the
initiative's data key too (crypto-shredding what remains, e.g. withdrawn records and any copy
in a backup) and log ``data.purged`` (scope ``DATA_KEY``). The log holds no personal data and is
untouched: ``sigaudit verify`` of an export and ``verify-batch`` of CVK's copy still pass.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from audit import events
from sigsvc.db.models.batches import Batch, BatchStatus
from sigsvc.db.models.intake import DataKey, Signature, SignatureStatus
from sigsvc.services import Services

log = structlog.get_logger("sigsvc.retention")

SCOPE_RECORDS = "BATCH_RECORDS"
SCOPE_KEY = "DATA_KEY"
_ERASED = {  # non-nullable sealed columns become empty (unseal refuses them), containers NULL
    "given_name_enc": b"",
    "surname_enc": b"",
    "personal_code_enc": b"",
    "container_enc": None,
}


def purge(
    session: Session, intake: Services, now: datetime, retention_days: int
) -> list[dict[str, Any]]:
    """Purge every batch past retention (caller commits); one summary per ``data.purged``."""
    intake.log.lock(session)
    cutoff = now - timedelta(days=retention_days)
    due = session.scalars(
        sa.select(Batch)
        .where(Batch.status == BatchStatus.ACKNOWLEDGED, Batch.acknowledged_at <= cutoff)
        .order_by(Batch.sequence)
    ).all()
    done: list[dict[str, Any]] = []
    logged: list[events.Event] = []
    files: list[Path] = []
    initiatives: dict[uuid.UUID, None] = {}
    for batch in due:
        erased = session.execute(
            sa.update(Signature)
            .where(Signature.batch_id == batch.id)
            .values(**_ERASED)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        logged.append(
            events.data_purged(
                at=now, initiative=str(batch.initiative_id), scope=SCOPE_RECORDS, count=erased
            )
        )
        done.append({"batch": batch.id, "scope": SCOPE_RECORDS, "count": erased})
        if batch.artefact_path:
            files.append(Path(batch.artefact_path))
        batch.status = BatchStatus.PURGED
        batch.purged_at = now
        batch.artefact_path = None
        batch.download_token_sha256 = None
        initiatives[batch.initiative_id] = None
    session.flush()
    for initiative_id in initiatives:
        waiting = session.scalar(
            sa.select(sa.func.count())
            .select_from(Signature)
            .outerjoin(Batch, Batch.id == Signature.batch_id)
            .where(
                Signature.initiative_id == initiative_id,
                Signature.status == SignatureStatus.ACCEPTED,
                sa.or_(Batch.id.is_(None), Batch.status != BatchStatus.PURGED),
            )
        )
        key = session.get(DataKey, initiative_id)
        if waiting or key is None:
            continue
        session.delete(key)
        records = session.execute(
            sa.update(Signature)
            .where(Signature.initiative_id == initiative_id)
            .values(**_ERASED)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        logged.append(
            events.data_purged(
                at=now, initiative=str(initiative_id), scope=SCOPE_KEY, count=records
            )
        )
        done.append({"initiative": str(initiative_id), "scope": SCOPE_KEY, "count": records})
    if logged:
        first = intake.log.append(session, logged)
        for item, index in zip(done, first, strict=True):
            item["leaf_index"] = index
        session.flush()
        intake.log.cut_if_due(session)
    # Files last, after every database change succeeded. Should the commit still fail, the
    # batches stay acknowledged and the next run erases their records and logs the purge.
    for path in files:
        path.unlink(missing_ok=True)
        log.info("batch_artefact_deleted", path=str(path))
    return done
