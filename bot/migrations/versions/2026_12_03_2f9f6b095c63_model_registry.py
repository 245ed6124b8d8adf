"""The model registry's tables (bot.registry.records): model_versions, model_promotions,
rasa_instances.

Revision ID: 2f9f6b095c63
Revises: c011f75ec8b5
Create Date: 2026-12-03 08:16:32.523421
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2f9f6b095c63"
down_revision = "c011f75ec8b5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_promotions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column("previous_id", sa.String(length=40), nullable=True),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_promotions") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_promotions_started_at"), ["started_at"], unique=False
        )

    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("finetuned_from", sa.String(length=40), nullable=True),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("new_labels", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("compare_status", sa.String(length=20), nullable=True),
        sa.Column("compare_stage", sa.String(length=200), nullable=False),
        sa.Column("compare_pid", sa.Integer(), nullable=True),
        sa.Column("compared_at", sa.DateTime(), nullable=True),
        sa.Column("compared_by", sa.String(length=100), nullable=True),
        sa.Column("compared_with", sa.String(length=64), nullable=True),
        sa.Column("comparison", sa.Text(), nullable=True),
        sa.Column("promotable", sa.Boolean(), nullable=True),
        sa.Column("compare_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_versions") as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_status"), ["status"], unique=False)

    op.create_table(
        "rasa_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("api", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("rasa_instances")
    with op.batch_alter_table("model_versions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_status"))

    op.drop_table("model_versions")
    with op.batch_alter_table("model_promotions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_promotions_started_at"))

    op.drop_table("model_promotions")
