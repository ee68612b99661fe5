"""Intake tables: signature records (encrypted personal data), data keys, rejections.

Personal data (names, personal code, the signed container) is stored only sealed under the
initiative's data key (sigsvc.intake.protection); dedup uses a keyed HMAC
(sigsvc.intake.pseudonym). The log itself is sigsvc/db/models/log.py (append-only).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sigsvc.db import Base
from sigsvc.db.models.core import TZDateTime, _enum_column, utcnow


class SignatureStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"


class Eligibility(enum.StrEnum):
    AGE_CHECKED = "age_checked"  # birth date known from the personal code: checked here
    FOR_CVK = "for_cvk"  # new-format code without birth date: CVK checks age (Art. 24)


class DataKey(Base):
    """One AES-256 data key per initiative, wrapped by the KEK (never stored in clear)."""

    __tablename__ = "data_keys"

    initiative_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("initiatives.id", ondelete="RESTRICT"), primary_key=True
    )
    kek_id: Mapped[str] = mapped_column(sa.String(100))
    wrapped: Mapped[bytes] = mapped_column(sa.LargeBinary())
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class Signature(Base):
    """An accepted signature. First valid wins: (initiative, dedup_key) is unique."""

    __tablename__ = "signatures"
    __table_args__ = (sa.UniqueConstraint("initiative_id", "dedup_key", name="one_per_person"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    initiative_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("initiatives.id", ondelete="RESTRICT"), index=True
    )
    platform_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("platforms.id", ondelete="RESTRICT")
    )
    dedup_key: Mapped[bytes] = mapped_column(sa.LargeBinary(32))  # HMAC, key outside the DB
    status: Mapped[SignatureStatus] = mapped_column(
        _enum_column(SignatureStatus, "signature_status"), default=SignatureStatus.ACCEPTED
    )
    eligibility: Mapped[Eligibility] = mapped_column(_enum_column(Eligibility, "eligibility"))
    container_sha256: Mapped[str] = mapped_column(sa.String(64))
    signing_time: Mapped[datetime] = mapped_column(TZDateTime())  # qualified time stamp
    # AES-GCM sealed (sigsvc.intake.protection.record_aad binds each to this row and column).
    given_name_enc: Mapped[bytes] = mapped_column(sa.LargeBinary())
    surname_enc: Mapped[bytes] = mapped_column(sa.LargeBinary())
    personal_code_enc: Mapped[bytes] = mapped_column(sa.LargeBinary())
    container_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary(), deferred=True)
    container_format: Mapped[str] = mapped_column(sa.String(40))
    leaf_index: Mapped[int] = mapped_column(sa.BigInteger(), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    withdrawal_leaf_index: Mapped[int | None] = mapped_column(sa.BigInteger())
    # Set by batch export (issue 6) when the signature goes into a batch; withdrawal is then
    # refused (ALREADY_EXPORTED). NULL = not exported yet.
    batch_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    exported_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class Rejection(Base):
    """A refused attempt (including DUPLICATE): reason and digest only, no personal data."""

    __tablename__ = "signature_rejections"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    initiative_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("initiatives.id", ondelete="RESTRICT"), index=True
    )
    platform_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("platforms.id", ondelete="RESTRICT")
    )
    reason: Mapped[str] = mapped_column(sa.String(40))
    container_sha256: Mapped[str] = mapped_column(sa.String(64))
    leaf_index: Mapped[int] = mapped_column(sa.BigInteger(), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class CheckpointClock(Base):
    """When the service cut each checkpoint (audit_log_checkpoints is append-only and has no
    time): "is a checkpoint due?" compares the newest cut_at with SIGSVC_CHECKPOINT_INTERVAL."""

    __tablename__ = "log_checkpoint_clock"

    seq: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    cut_at: Mapped[datetime] = mapped_column(TZDateTime())
