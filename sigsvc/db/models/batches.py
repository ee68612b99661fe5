"""Batch export tables (issue 6): batches handed to CVK and every handover attempt.

A signature belongs to at most one batch (``signatures.batch_id``, set once under the log lock
by the export transaction). The batch artefact itself is a file in the instance folder
(``artefact_path``); the row keeps what is needed to prove and audit the handover.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sigsvc.db import Base
from sigsvc.db.models.core import TZDateTime, _enum_column, utcnow


class BatchStatus(enum.StrEnum):
    CREATED = "created"
    HANDED_OVER = "handed_over"  # pushed (receiver answered) or downloaded with a token
    ACKNOWLEDGED = "acknowledged"  # the receiver's signed acceptance verified: locked
    PURGED = "purged"  # personal data deleted after the retention period


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    initiative_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("initiatives.id", ondelete="RESTRICT"), index=True
    )
    sequence: Mapped[int] = mapped_column(sa.Integer(), unique=True)  # 1, 2, ... over the log
    status: Mapped[BatchStatus] = mapped_column(
        _enum_column(BatchStatus, "batch_status"), default=BatchStatus.CREATED
    )
    count: Mapped[int] = mapped_column(sa.Integer())
    manifest_sha256: Mapped[str] = mapped_column(sa.String(64))
    checkpoint: Mapped[bytes] = mapped_column(sa.LargeBinary())  # the batch checkpoint note
    checkpoint_size: Mapped[int] = mapped_column(sa.BigInteger())
    exported_leaf_index: Mapped[int] = mapped_column(sa.BigInteger())  # batch.exported
    artefact_path: Mapped[str | None] = mapped_column(sa.String(1000))  # NULL once purged
    artefact_bytes: Mapped[int] = mapped_column(sa.BigInteger())
    download_token_sha256: Mapped[bytes | None] = mapped_column(sa.LargeBinary(32))
    downloads: Mapped[int] = mapped_column(sa.Integer(), default=0)
    acknowledgement: Mapped[bytes | None] = mapped_column(sa.LargeBinary())  # signed note
    acknowledged_leaf_index: Mapped[int | None] = mapped_column(sa.BigInteger())
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class HandoverAttempt(Base):
    """One push attempt (or token download): what happened, for the operator and auditors."""

    __tablename__ = "batch_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("batches.id", ondelete="RESTRICT"), index=True
    )
    method: Mapped[str] = mapped_column(sa.String(20))  # push | download
    attempt: Mapped[int] = mapped_column(sa.Integer())
    at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    http_status: Mapped[int | None] = mapped_column(sa.Integer())
    outcome: Mapped[str] = mapped_column(sa.String(40))  # ACCEPTED, REFUSED, RETRY, ERROR, ...
    detail: Mapped[str] = mapped_column(sa.String(500), default="")
