"""Intake tables: signature records (encrypted personal data), data keys, rejections, the log.

Personal data (names, personal code, the signed container) is stored only sealed under the
initiative's data key (sigsvc.protection); dedup uses a keyed HMAC (sigsvc.pseudonym). The
log tables hold what audit.storage.LogStorage needs; leaves carry no personal data.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from sigsvc import idempotency, ratelimit
from sigsvc.db import Base
from sigsvc.models.core import TZDateTime, _enum_column, utcnow

# The idempotency and rate-limit modules define their tables on their own MetaData (they are
# usable without the service); the service's schema (Alembic) includes them.
for _table in (idempotency.idempotency_keys, ratelimit.rate_limit_state):
    _table.to_metadata(Base.metadata)


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
    # AES-GCM sealed (sigsvc.protection.record_aad binds each to this row and column).
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


# --- the RFC 6962 log (sigsvc.logstore implements audit.storage.LogStorage over these) ---


class LogHead(Base):
    """One row: the tree size. Every log writer updates it first, which serialises appends
    across processes (a row lock on PostgreSQL, the write lock on SQLite)."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(sa.SmallInteger(), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger())


class LogEntry(Base):
    __tablename__ = "log_entries"

    idx: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary())


class LogNode(Base):
    """Hash of a complete subtree: level 0 = leaf hashes."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(sa.SmallInteger(), primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32))


class LogCheckpoint(Base):
    __tablename__ = "log_checkpoints"

    seq: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(sa.BigInteger())
    note: Mapped[bytes] = mapped_column(sa.LargeBinary())
    created_at: Mapped[datetime] = mapped_column(TZDateTime())
