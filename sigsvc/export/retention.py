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
from sqlalchemy.orm import Session, sessionmaker

from audit import events
from sigsvc import db, progress
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


CHUNK = 1000  # records erased per short transaction


def purge(
    sessions: sessionmaker[Session], intake: Services, now: datetime, retention_days: int
) -> list[dict[str, Any]]:
    """Purge every batch past retention; one summary per ``data.purged``.

    Intake goes on meanwhile: records are erased CHUNK per short transaction without the log
    lock (intake never touches an exported record, and a withdrawal of one is refused), then
    the artefact file is deleted, then each ``data.purged`` is logged with its batch marked
    purged in a short transaction under the log lock. A crash in between leaves the batch
    acknowledged: the next run erases again (the same values), deletes nothing more and logs
    it (tests/export/test_faults.py kills it at those points).
    """
    cutoff = now - timedelta(days=retention_days)
    with sessions() as session:
        due = [
            (b.id, b.initiative_id, b.artefact_path)
            for b in session.scalars(
                sa.select(Batch)
                .where(Batch.status == BatchStatus.ACKNOWLEDGED, Batch.acknowledged_at <= cutoff)
                .order_by(Batch.sequence)
            )
        ]
    done: list[dict[str, Any]] = []
    initiatives: dict[uuid.UUID, None] = {}
    for number, (batch_id, initiative_id, path) in enumerate(due, 1):
        progress.report("retention purge", number, len(due))
        erased = _erase(sessions, Signature.batch_id == batch_id)
        if path:  # before the batch is marked purged: a crash after that would leave it
            Path(path).unlink(missing_ok=True)
            log.info("batch_artefact_deleted", path=path)
        with sessions() as session, session.begin():
            # `now` decides what is due (a test may move it); the log records when it happened,
            # dated under the log lock.
            logged_at = intake.log.now(session)
            batch = session.get(Batch, batch_id)
            assert batch is not None
            batch.status = BatchStatus.PURGED
            batch.purged_at = logged_at
            batch.artefact_path = None
            batch.download_token_sha256 = None
            event = events.data_purged(
                at=logged_at,
                initiative=str(initiative_id),
                scope=SCOPE_RECORDS,
                count=erased,
            )
            (index,) = intake.log.append(session, [event])
            intake.log.cut_if_due(session)
        done.append(
            {"batch": batch_id, "scope": SCOPE_RECORDS, "count": erased, "leaf_index": index}
        )
        initiatives[initiative_id] = None
    for initiative_id in initiatives:
        with sessions() as session:
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
            if waiting or session.get(DataKey, initiative_id) is None:
                continue
        with sessions() as session, session.begin():  # the key first: crypto-shredded at once
            key = session.get(DataKey, initiative_id)
            if key is None:
                continue
            session.delete(key)
        records = _erase(sessions, Signature.initiative_id == initiative_id)
        with sessions() as session, session.begin():
            event = events.data_purged(
                at=intake.log.now(session),
                initiative=str(initiative_id),
                scope=SCOPE_KEY,
                count=records,
            )
            (index,) = intake.log.append(session, [event])
            intake.log.cut_if_due(session)
        done.append(
            {
                "initiative": str(initiative_id),
                "scope": SCOPE_KEY,
                "count": records,
                "leaf_index": index,
            }
        )
    return done


def _erase(sessions: sessionmaker[Session], which: sa.ColumnElement[bool]) -> int:
    """Erase the sealed columns of every signature matching ``which``; how many matched."""
    with sessions() as session:
        ids = list(session.scalars(sa.select(Signature.id).where(which)))
    for start in range(0, len(ids), CHUNK):
        if start:
            db.let_waiting_writers_in(sessions)
        with sessions() as session, session.begin():
            session.execute(
                sa.update(Signature)
                .where(Signature.id.in_(ids[start : start + CHUNK]))
                .values(**_ERASED)
                .execution_options(synchronize_session=False)
            )
    return len(ids)
