"""Foundation tables: credentials (admin tokens, platforms) and initiatives."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crypto.form import Regime
from sigsvc.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class InitiativeStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def _enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    # Stored as VARCHAR + CHECK (not a native PG enum): adding a value is a plain migration.
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=40,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class TZDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite has no timezone type)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# Credentials hold only SHA-256 digests of high-entropy random tokens (docs/adr/0001).
class AdminToken(Base):
    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    token_sha256: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())


platform_initiatives = sa.Table(
    "platform_initiatives",
    Base.metadata,
    sa.Column(
        "platform_id",
        sa.Uuid(),
        sa.ForeignKey("platforms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "initiative_id",
        sa.Uuid(),
        sa.ForeignKey("initiatives.id", ondelete="RESTRICT"),
        primary_key=True,
    ),
)


class Platform(Base):
    __tablename__ = "platforms"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    key_sha256: Mapped[bytes] = mapped_column(sa.LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    initiatives: Mapped[list[Initiative]] = relationship(
        secondary=platform_initiatives, order_by="Initiative.created_at", lazy="selectin"
    )


class Initiative(Base):
    __tablename__ = "initiatives"
    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="period_order"),
        sa.CheckConstraint("minimum_age BETWEEN 16 AND 18", name="minimum_age_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    regime: Mapped[Regime] = mapped_column(_enum_column(Regime, "regime"))
    registration_number: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    full_text: Mapped[str] = mapped_column(sa.Text(), deferred=True)  # up to MBs: load on use
    text_sha256: Mapped[str] = mapped_column(sa.String(64))
    starts_on: Mapped[date] = mapped_column(sa.Date())
    ends_on: Mapped[date] = mapped_column(sa.Date())
    minimum_age: Mapped[int] = mapped_column(sa.SmallInteger())
    status: Mapped[InitiativeStatus] = mapped_column(
        _enum_column(InitiativeStatus, "initiative_status"), default=InitiativeStatus.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(TZDateTime())
