"""container digest index: look up a signature's log leaves by container SHA-256

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:20:00
"""

from __future__ import annotations

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signatures_container_sha256'), ['container_sha256'], unique=False)
    with op.batch_alter_table('signature_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_rejections_container_sha256'), ['container_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signature_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_rejections_container_sha256'))
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signatures_container_sha256'))
