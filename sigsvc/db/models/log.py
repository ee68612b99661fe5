"""Tables of the tamper-evident log (append-only; see sigsvc/log/storage.py and revision 0002).

On both backends triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL, where they are
ENABLE ALWAYS so they fire under session_replication_role = replica too); the head row may
only grow.
"""

from __future__ import annotations

import sqlalchemy as sa

from sigsvc.db import Base

log_entries = sa.Table(
    "audit_log_entries",
    Base.metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary, nullable=False),  # RFC 8785 JSON of one event
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    sa.CheckConstraint("idx >= 0", name="idx_non_negative"),
)

# Hash of every complete interior node: level >= 1, covering leaves [idx << level, ...).
log_nodes = sa.Table(
    "audit_log_nodes",
    Base.metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
    sa.CheckConstraint("level >= 1 AND idx >= 0", name="node_position"),
)

log_checkpoints = sa.Table(
    "audit_log_checkpoints",
    Base.metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("note", sa.LargeBinary, nullable=False),  # C2SP signed-note bytes
    sa.CheckConstraint("seq >= 0 AND size >= 0", name="checkpoint_position"),
)

# One row (id = 1): the number of entries; its row lock sequences appenders.
log_head = sa.Table(
    "audit_log_head",
    Base.metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1 AND size >= 0", name="single_row"),
)

APPEND_ONLY_TABLES = ("audit_log_entries", "audit_log_nodes", "audit_log_checkpoints")
APP_ROLE = "sigsvc_app"  # the service's database role: SELECT/INSERT only on the log
