"""audit log: append-only entries, interior hashes, checkpoints, head; triggers and grants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_log_entries", "audit_log_nodes", "audit_log_checkpoints")
APP_ROLE = "sigsvc_app"

PG_FUNCTIONS = """
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit log table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE FUNCTION audit_log_head_grow_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id <> OLD.id OR NEW.size < OLD.size THEN
    RAISE EXCEPTION 'audit log head may only grow' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
"""

PG_ROLE = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    IF (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
      CREATE ROLE {APP_ROLE} NOLOGIN;
    ELSE
      RAISE NOTICE 'cannot create role {APP_ROLE}: create it and rerun the grants';
    END IF;
  END IF;
END $$;
"""


def _pg_guard(table: str, ops: str, name: str) -> None:
    op.execute(
        f"CREATE TRIGGER {name} BEFORE {ops} ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()"
    )
    # ALWAYS: fire even under session_replication_role = replica (which skips ORIGIN triggers).
    op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")


def upgrade() -> None:
    op.create_table(
        "audit_log_entries",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("idx >= 0", name=op.f("ck_audit_log_entries_idx_non_negative")),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_audit_log_entries")),
    )
    op.create_table(
        "audit_log_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("level >= 1 AND idx >= 0", name=op.f("ck_audit_log_nodes_node_position")),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_log_nodes")),
    )
    op.create_table(
        "audit_log_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "seq >= 0 AND size >= 0", name=op.f("ck_audit_log_checkpoints_checkpoint_position")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log_checkpoints")),
    )
    op.create_table(
        "audit_log_head",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1 AND size >= 0", name=op.f("ck_audit_log_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_head")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        for table in APPEND_ONLY:
            _pg_guard(table, "UPDATE OR DELETE OR TRUNCATE", f"{table}_append_only")
        _pg_guard("audit_log_head", "DELETE OR TRUNCATE", "audit_log_head_no_delete")
        op.execute(
            "CREATE TRIGGER audit_log_head_grow_only BEFORE UPDATE ON audit_log_head "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_head_grow_only()"
        )
        op.execute("ALTER TABLE audit_log_head ENABLE ALWAYS TRIGGER audit_log_head_grow_only")
        op.execute(PG_ROLE)
        op.execute(
            f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
            f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY)} TO {APP_ROLE}; "
            f"GRANT SELECT, INSERT, UPDATE ON audit_log_head TO {APP_ROLE}; "
            "END IF; END $$;"
        )
        for table in (*APPEND_ONLY, "audit_log_head"):
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")
    else:  # SQLite: no TRUNCATE statement; DELETE fires the trigger row by row.
        for table in APPEND_ONLY:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {what} refused'); END"
                )
        op.execute(
            "CREATE TRIGGER audit_log_head_no_delete BEFORE DELETE ON audit_log_head "
            "BEGIN SELECT RAISE(ABORT, 'audit_log_head: DELETE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_log_head_grow_only BEFORE UPDATE ON audit_log_head "
            "WHEN NEW.id <> OLD.id OR NEW.size < OLD.size "
            "BEGIN SELECT RAISE(ABORT, 'audit log head may only grow'); END"
        )


def downgrade() -> None:
    for table in ("audit_log_head", *APPEND_ONLY):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_refuse_change()")
        op.execute("DROP FUNCTION audit_log_head_grow_only()")
