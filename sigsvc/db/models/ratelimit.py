"""Rate-limit state shared by the workers (sigsvc.intake.ratelimit.SqlStore)."""

from __future__ import annotations

import sqlalchemy as sa

from sigsvc.db import Base

rate_limit_state = sa.Table(
    "rate_limit_state",
    Base.metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    # Theoretical arrival time, POSIX microseconds. A row with tat <= now is equivalent to no
    # row at all, so such rows can be pruned at any time.
    sa.Column("tat_us", sa.BigInteger, nullable=False),
)
