"""review_saved_tests: conversations a trainer saved as regression cases (bot.review.saved_tests).

Revision ID: c011f75ec8b5
Revises: 0acc43187492
Create Date: 2026-12-03 08:03:40.414850
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c011f75ec8b5"
down_revision = "0acc43187492"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_saved_tests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=80), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("turns", sa.Text(), nullable=False),
        sa.Column("expect", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    with op.batch_alter_table("review_saved_tests") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_saved_tests_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_saved_tests") as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_saved_tests_conversation_id"))
    op.drop_table("review_saved_tests")
