"""Stored answers for `Idempotency-Key` replays (sigsvc.intake.idempotency reads and writes)."""

from __future__ import annotations

import sqlalchemy as sa

from sigsvc.db import Base

MAX_KEY_LENGTH = 255

idempotency_keys = sa.Table(
    "idempotency_keys",
    Base.metadata,
    sa.Column("platform_id", sa.String(100), primary_key=True),
    sa.Column("key", sa.String(MAX_KEY_LENGTH), primary_key=True),
    sa.Column("fingerprint", sa.LargeBinary(32), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
