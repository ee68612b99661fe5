"""Batch export (issue 6): build a sealed batch from the log, mark its signatures exported.

Every accepted, not withdrawn, not yet exported signature of the initiative below a checkpoint
that covers them, in log order, decrypted with the initiative's data key, streamed into
``write_batch``; then ``batch.exported`` is logged and ``signatures.batch_id`` set. Intake goes
on meanwhile: the log lock is held only for short transactions (``export``'s docstring), no
signature can be withdrawn after it was put into a batch, and one export at a time per
database (``export_lock``) keeps the batch chain (sequence, previous checkpoint) linear.
Handover, acknowledgement and retention are in ``sigsvc.export.handover`` and
``sigsvc.export.retention``.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from audit import events
from audit.log import Log
from crypto.form import RIGA
from sigsvc import db, progress
from sigsvc.db.models import Initiative
from sigsvc.db.models.batches import Batch
from sigsvc.db.models.intake import DataKey, Signature, SignatureStatus
from sigsvc.db.models.log import log_entries
from sigsvc.export.evidence import ENV_TSA_URL, EvidenceError, Tsa
from sigsvc.export.seal import ENV_CERT, ENV_KEY, ENV_KEY_PASSWORD, Sealer
from sigsvc.export.writer import (
    BatchInfo,
    BatchSummary,
    EntryRecord,
    InitiativeInfo,
    LogProofs,
    write_batch,
)
from sigsvc.intake import protection
from sigsvc.keys import config as keyconfig
from sigsvc.log.service import log_safe_uuid
from sigsvc.log.storage import SqlLogStorage
from sigsvc.refusal import Refusal
from sigsvc.services import Services

logger = structlog.get_logger("sigsvc.export")

CHUNK = 500  # signatures decrypted per round trip
RESERVE_CHUNK = 1000  # signatures reserved per short transaction under the log lock
MEDIA_ASICE = "application/vnd.etsi.asic-e+zip"
MEDIA_PDF = "application/pdf"


@dataclass(frozen=True)
class BatchSettings:
    directory: Path  # where artefacts are written (instance folder by default)
    seal_env: dict[str, str]  # SIGSVC_BATCH_SEAL_KEY / _CERT / _KEY_PASSWORD

    def tsa(self) -> Tsa:
        """The TSA of the seal's time stamp (version 2 batches are XAdES-BASELINE-LT)."""
        found = Tsa.from_env(self.seal_env)
        if found is None:
            raise Refusal("BATCH_NOT_CONFIGURED", f"batch seal: set {ENV_TSA_URL}")
        return found

    def sealer(self) -> Sealer:
        try:
            return keyconfig.batch_sealer(self.seal_env)[0]
        except keyconfig.KeyConfigError as exc:
            raise Refusal("BATCH_NOT_CONFIGURED", f"batch seal: {exc}") from exc


def settings(app: Flask) -> BatchSettings:
    seal = app.config.get("BATCH_SEAL", {})
    return BatchSettings(
        directory=Path(app.config.get("BATCH_DIR") or Path(app.instance_path) / "batches"),
        seal_env={
            k: v
            for k, v in {**seal, **app.config.get("TOKEN_KEYS", {})}.items()
            if v
            and (
                k in (ENV_KEY, ENV_CERT, ENV_KEY_PASSWORD, ENV_TSA_URL)
                or k in keyconfig.TOKEN_SEAL_ENV
            )
        },
    )


def batch_json(batch: Batch) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return None if value is None else events.format_time(value)

    return {
        "id": batch.id,
        "initiative_id": str(batch.initiative_id),
        "sequence": batch.sequence,
        "status": batch.status.value,
        "count": batch.count,
        "manifest_sha256": batch.manifest_sha256,
        "checkpoint": batch.checkpoint.decode(),
        "exported_leaf_index": batch.exported_leaf_index,
        "acknowledged_leaf_index": batch.acknowledged_leaf_index,
        "artefact_bytes": batch.artefact_bytes,
        "downloads": batch.downloads,
        "created_at": when(batch.created_at),
        "handed_over_at": when(batch.handed_over_at),
        "acknowledged_at": when(batch.acknowledged_at),
        "purged_at": when(batch.purged_at),
    }


def _log_vkey(intake: Services) -> str:
    assert intake.log.signer is not None  # a configured service signs its log
    return intake.log.signer.verifier().vkey


def _data_key(session: Session, intake: Services, initiative_id: uuid.UUID) -> bytes:
    row = session.get(DataKey, initiative_id)
    if row is None:
        raise Refusal("DATA_PURGED", "the initiative's data key no longer exists")
    wrapped = protection.WrappedDataKey(row.kek_id, row.wrapped)
    return protection.unwrap_data_key(intake.kek, wrapped, initiative_id)


def _entries(
    session: Session, dek: bytes, initiative_id: uuid.UUID, picked: Sequence[tuple[uuid.UUID, int]]
) -> Iterator[EntryRecord]:
    """Decrypted entries in log order, CHUNK signatures per query (bounded memory)."""
    for start in range(0, len(picked), CHUNK):
        chunk = picked[start : start + CHUNK]
        ids = [sid for sid, _ in chunk]
        # Plain rows, not ORM objects: no identity map to fill and empty again.
        rows = {
            row.id: row
            for row in session.execute(
                sa.select(
                    Signature.id,
                    Signature.given_name_enc,
                    Signature.surname_enc,
                    Signature.personal_code_enc,
                    Signature.container_enc,
                    Signature.container_format,
                    Signature.signing_time,
                ).where(Signature.id.in_(ids))
            )
        }
        leaves = dict(
            session.execute(
                sa.select(log_entries.c.idx, log_entries.c.data).where(
                    log_entries.c.idx.in_([index for _, index in chunk])
                )
            ).all()
        )
        progress.report("batch export", start + len(chunk), len(picked))
        for sid, index in chunk:
            sig = rows[sid]

            def field(name: str, blob: bytes | None, sid: uuid.UUID = sid) -> bytes:
                if not blob:
                    raise Refusal("DATA_PURGED", f"signature {sid}: record deleted")
                aad = protection.record_aad(initiative_id, sid, name)
                return protection.unseal(dek, blob, aad)

            yield EntryRecord(
                signature=str(sid),
                leaf_index=index,
                leaf=bytes(leaves[index]),
                container=field("container", sig.container_enc),
                media_type=MEDIA_PDF if sig.container_format.startswith("PAdES") else MEDIA_ASICE,
                given_name=field("given_name", sig.given_name_enc).decode(),
                surname=field("surname", sig.surname_enc).decode(),
                personal_code=field("personal_code", sig.personal_code_enc).decode(),
                signing_date=sig.signing_time.astimezone(RIGA).date(),
            )


@contextlib.contextmanager
def export_lock(engine: sa.Engine) -> Iterator[None]:
    """One export at a time per database (batch sequence numbers and the chain of batch
    checkpoints are global), held across the export's short transactions and released when
    the process dies: a PostgreSQL session advisory lock, or a file lock beside SQLite's file."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _EXPORT_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _EXPORT_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        with _MEMORY_EXPORT_LOCK:
            yield
        return
    with open(f"{database}.export-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_EXPORT_LOCK_KEY = 0x5167_7376_6578_7074  # "sigsvexpt"-ish: any constant 63-bit key
_MEMORY_EXPORT_LOCK = threading.Lock()


class _WithdrawnMeanwhile(Exception):
    """While the batch was written, a picked signature was withdrawn, or the initiative
    accepted a signature (batch format v2: nothing of the initiative may be accepted between
    the batch's checkpoint and its ``batch.exported`` entry, or no later batch's completeness
    range could hold it): write it again from a new checkpoint."""


PHASED_ATTEMPTS = 3


def export(app: Flask, intake: Services, initiative_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    """Export the initiative's pending signatures into a new batch; intake goes on meanwhile.

    Why in phases: a 100,000-signature batch takes tens of seconds to write; under the log lock
    that stopped intake (and withdrawals) for as long. Here the log lock is held only for
    short transactions: (1) check, and cut the checkpoint that covers the log (its size is the
    snapshot: everything below it is immutable, except a withdrawal's status); (2) without any
    lock, pick the accepted, not yet exported signatures below that size and write the batch;
    (3) reserve them (``batch_id``) in chunks, each under the log lock so that withdrawals see
    either nothing or the reservation; a signature withdrawn meanwhile makes the reservation
    come up short: everything is released and the batch written again; (4) log
    ``batch.exported`` and store the batch — unless the initiative accepted a signature since
    the checkpoint (batch format v2 forbids a gap between a batch's checkpoint and its
    ``batch.exported``): then the batch is written again, and after PHASED_ATTEMPTS the export
    runs the old way, under the log lock throughout. So intake of every *other* initiative is
    never stopped; intake of the exported one is, if it keeps accepting while its batch is
    written. A crash before (4) leaves reservations without a batch: the next export releases
    them first (under the export lock, so none is running).
    """
    config = settings(app)
    sessions = db.sessions_of(app)
    with export_lock(db.engine_of(app)):
        for _attempt in range(PHASED_ATTEMPTS):
            try:
                return _export(sessions, intake, config, initiative_id, now)
            except _WithdrawnMeanwhile:
                continue
        # The initiative keeps changing while its batch is written: export it the old way,
        # under the log lock for the whole export (its intake waits; always completes).
        path: Path | None = None
        try:
            with db.session_scope(app) as session:
                batch = _create_locked(session, intake, config, initiative_id, now)
                path = Path(batch.artefact_path or "")
                result = batch_json(batch)
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        return result


def _plan(
    session: Session,
    intake: Services,
    config: BatchSettings,
    initiative: Initiative,
    log: Log,
    checkpoint: bytes,
    size: int,
    now: datetime,
) -> tuple[BatchInfo, LogProofs, Path]:
    """The next batch's identity, proofs and artefact path (both export paths share it)."""
    previous = session.scalars(sa.select(Batch).order_by(Batch.sequence.desc()).limit(1)).first()
    # Completeness range: after this initiative's previous batch.exported entry (or from 0)
    # up to the checkpoint: everything in it is below the snapshot.
    before = session.scalar(
        sa.select(sa.func.max(Batch.exported_leaf_index)).where(
            Batch.initiative_id == initiative.id
        )
    )
    proofs = LogProofs(
        origin=intake.log.origin,
        key=_log_vkey(intake),
        checkpoint=checkpoint,
        nodes=log.storage,
        previous_checkpoint=None if previous is None else previous.checkpoint,
        consistency=()
        if previous is None or previous.checkpoint_size == size
        else log.consistency_proof(previous.checkpoint_size, size),
        range_start=0 if before is None else int(before) + 1,
        leaves=log.storage.entries,
    )
    info = BatchInfo(
        id=str(log_safe_uuid()),
        sequence=1 if previous is None else previous.sequence + 1,
        created=now,
        initiative=InitiativeInfo(
            id=str(initiative.id),
            registration=initiative.registration_number,
            title=initiative.title,
            text_sha256=initiative.text_sha256,
            regime=initiative.regime.value,
        ),
    )
    config.directory.mkdir(parents=True, exist_ok=True)
    return info, proofs, config.directory / f"batch-{info.sequence:06d}-{info.id}.asice"


def _create_locked(
    session: Session,
    intake: Services,
    config: BatchSettings,
    initiative_id: uuid.UUID,
    now: datetime,
) -> Batch:
    """The whole export in the caller's transaction under the log lock (the fallback: intake
    waits; caller commits; on failure it must delete ``Path(batch.artefact_path)``)."""
    storage = intake.log.lock(session)
    initiative = session.get(Initiative, initiative_id)
    if initiative is None:
        raise Refusal("NOT_FOUND", "no such initiative")
    picked = [
        (sid, int(index))
        for sid, index in session.execute(
            sa.select(Signature.id, Signature.leaf_index)
            .where(
                Signature.initiative_id == initiative_id,
                Signature.status == SignatureStatus.ACCEPTED,
                Signature.batch_id.is_(None),
            )
            .order_by(Signature.leaf_index)
        )
    ]
    if not picked:
        raise Refusal("NOTHING_TO_EXPORT", "no accepted signature is waiting for export")
    sealer, tsa = config.sealer(), config.tsa()
    dek = _data_key(session, intake, initiative_id)
    checkpoint = intake.log.covering_checkpoint(session)
    size = storage.size()
    log = Log(storage, intake.log.origin)
    info, proofs, path = _plan(session, intake, config, initiative, log, checkpoint, size, now)
    batch_id = info.id
    try:
        summary = write_batch(
            path, info, _entries(session, dek, initiative_id, picked), proofs, sealer, tsa
        )
    except EvidenceError as exc:  # nothing written, nothing marked: export again later
        raise Refusal("SEAL_EVIDENCE_UNAVAILABLE", str(exc)) from exc
    try:
        marked = 0
        for start in range(0, len(picked), CHUNK):
            ids = [sid for sid, _ in picked[start : start + CHUNK]]
            result = session.execute(
                sa.update(Signature)
                .where(Signature.id.in_(ids), Signature.batch_id.is_(None))
                .values(batch_id=batch_id, exported_at=now)
                .execution_options(synchronize_session=False)
            )
            marked += result.rowcount  # type: ignore[attr-defined]
        if marked != summary.count:
            raise RuntimeError(f"marked {marked} signatures for a batch of {summary.count}")
        batch = _log_and_store(session, intake, initiative_id, info, summary, checkpoint, path, now)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    intake.log.cut_if_due(session)
    return batch


def _export(
    sessions: sessionmaker[Session],
    intake: Services,
    config: BatchSettings,
    initiative_id: uuid.UUID,
    now: datetime,
) -> dict[str, Any]:
    with sessions() as session, session.begin():
        _release(session, None)  # reservations of an export that crashed (none is running)
        _remove_orphans(session, config.directory)
    with sessions() as session, session.begin():  # (1) short, log lock
        storage = intake.log.lock(session)
        if session.get(Initiative, initiative_id) is None:
            raise Refusal("NOT_FOUND", "no such initiative")
        if session.scalar(sa.select(sa.exists().where(_pending(initiative_id)))) is False:
            raise Refusal("NOTHING_TO_EXPORT", "no accepted signature is waiting for export")
        config.sealer(), config.tsa()
        _data_key(session, intake, initiative_id)
        checkpoint = intake.log.covering_checkpoint(session)
        size = storage.size()
    with sessions() as session, session.begin():  # (2) no lock: the snapshot below `size`
        initiative = session.get(Initiative, initiative_id)
        assert initiative is not None
        picked = [
            (sid, int(index))
            for sid, index in session.execute(
                sa.select(Signature.id, Signature.leaf_index)
                .where(_pending(initiative_id), Signature.leaf_index < size)
                .order_by(Signature.leaf_index)
            )
        ]
        if not picked:
            raise Refusal("NOTHING_TO_EXPORT", "no accepted signature is waiting for export")
        sealer, tsa = config.sealer(), config.tsa()
        dek = _data_key(session, intake, initiative_id)
        storage = SqlLogStorage(session)
        log = Log(storage, intake.log.origin)
        info, proofs, path = _plan(session, intake, config, initiative, log, checkpoint, size, now)
        batch_id = info.id
        entries = _entries(session, dek, initiative_id, picked)
        try:
            summary = write_batch(path, info, entries, proofs, sealer, tsa)
        except EvidenceError as exc:  # nothing written, nothing reserved: export again later
            raise Refusal("SEAL_EVIDENCE_UNAVAILABLE", str(exc)) from exc
    try:
        _reserve(sessions, batch_id, [sid for sid, _ in picked], now)  # (3)
        with sessions() as session, session.begin():  # (4) short, log lock
            storage = intake.log.lock(session)
            late = sa.select(Signature.id).where(
                Signature.initiative_id == initiative_id, Signature.leaf_index >= size
            )
            if session.scalar(sa.select(late.exists())):
                raise _WithdrawnMeanwhile
            batch = _log_and_store(
                session, intake, initiative_id, info, summary, checkpoint, path, now
            )
            intake.log.cut_if_due(session)
            result = batch_json(batch)
    except BaseException:
        path.unlink(missing_ok=True)
        with sessions() as session, session.begin():
            _release(session, batch_id)
        raise
    return result


def _remove_orphans(session: Session, directory: Path) -> None:
    """Delete batch files no batch row names: left by an export that crashed after writing its
    file (it holds personal data in clear). Only under the export lock: none is being written."""
    if not directory.is_dir():
        return
    named = session.scalars(sa.select(Batch.artefact_path).where(Batch.artefact_path.is_not(None)))
    kept = {Path(p).name for p in named if p}
    for leftover in [*directory.glob("batch-*.asice"), *directory.glob("batch-*.asice.partial")]:
        if leftover.name not in kept:
            leftover.unlink(missing_ok=True)
            logger.warning("orphan_batch_file_deleted", file=leftover.name)


def _pending(initiative_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """Accepted, not withdrawn, not (being) exported signatures of the initiative."""
    return sa.and_(
        Signature.initiative_id == initiative_id,
        Signature.status == SignatureStatus.ACCEPTED,
        Signature.batch_id.is_(None),
    )


def _log_and_store(
    session: Session,
    intake: Services,
    initiative_id: uuid.UUID,
    info: BatchInfo,
    summary: BatchSummary,
    checkpoint: bytes,
    path: Path,
    now: datetime,
) -> Batch:
    """Log ``batch.exported`` and store the batch row, in the caller's transaction. The event
    is dated under the log lock: intake goes on while a batch is written, so the export's start
    time would precede events already logged."""
    event = events.batch_exported(
        at=intake.log.now(session),
        batch=info.id,
        initiative=str(initiative_id),
        count=summary.count,
        manifest_sha256=summary.manifest_sha256,
    )
    (index,) = intake.log.append(session, [event])
    batch = Batch(
        id=info.id,
        initiative_id=initiative_id,
        sequence=info.sequence,
        count=summary.count,
        manifest_sha256=summary.manifest_sha256,
        checkpoint=checkpoint,
        checkpoint_size=summary.checkpoint_size,
        exported_leaf_index=index,
        artefact_path=str(path),
        artefact_bytes=path.stat().st_size,
        downloads=0,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    return batch


def _reserve(
    sessions: sessionmaker[Session], batch_id: str, ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Set ``batch_id`` on every picked signature, RESERVE_CHUNK per short transaction under
    the log lock; _WithdrawnMeanwhile (after releasing them) if any is no longer pending."""
    for start in range(0, len(ids), RESERVE_CHUNK):
        chunk = ids[start : start + RESERVE_CHUNK]
        if start:
            db.let_waiting_writers_in(sessions)
        with sessions() as session, session.begin():
            SqlLogStorage(session).lock()
            marked = session.execute(
                sa.update(Signature)
                .where(
                    Signature.id.in_(chunk),
                    Signature.status == SignatureStatus.ACCEPTED,
                    Signature.batch_id.is_(None),
                )
                .values(batch_id=batch_id, exported_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if marked != len(chunk):
                session.rollback()
                with sessions() as cleanup, cleanup.begin():
                    _release(cleanup, batch_id)
                raise _WithdrawnMeanwhile


def _release(session: Session, batch_id: str | None) -> None:
    """Undo reservations: of ``batch_id``, or (None) of every batch id that has no batch."""
    target = (
        Signature.batch_id == batch_id
        if batch_id is not None
        else sa.and_(
            Signature.batch_id.is_not(None), Signature.batch_id.not_in(sa.select(Batch.id))
        )
    )
    session.execute(
        sa.update(Signature)
        .where(target)
        .values(batch_id=None, exported_at=None)
        .execution_options(synchronize_session=False)
    )
