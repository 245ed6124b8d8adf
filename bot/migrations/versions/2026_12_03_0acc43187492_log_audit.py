"""log_audit: who read, exported or erased conversations, and what the retention purge removed.

A new table only: no data moves. Downgrading drops it, and the audit trail with it.

Revision ID: 0acc43187492
Revises: 5d87c578612a
Create Date: 2026-12-03 07:49:24.858705
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0acc43187492"
down_revision = "5d87c578612a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("via", sa.String(length=40), nullable=False),
        sa.Column("conversation", sa.String(length=255), nullable=True),
        sa.Column("events", sa.Integer(), nullable=True),
        sa.Column("conversations", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("log_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_log_audit_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_log_audit_at"), ["at"], unique=False)
        batch_op.create_index("ix_log_audit_conversation", ["conversation", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("log_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_log_audit_conversation")
        batch_op.drop_index(batch_op.f("ix_log_audit_at"))
        batch_op.drop_index(batch_op.f("ix_log_audit_action"))

    op.drop_table("log_audit")
