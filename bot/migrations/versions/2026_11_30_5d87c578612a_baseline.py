"""Baseline: the conversation log's tables as `create_all` made them before migrations.

A database made by an earlier release has some or all of these tables and no version: Rasa's
`events` only (stock Rasa, or a log the console never opened), the log's tables without the
console's, or all of them. Earlier releases only ever added tables, never columns, so each
table that exists is already as below: it is kept with its rows, and only what is missing is
created (the events index the console used to add is among what may be missing).

Frozen here, not imported from the models: later revisions change the models, not this.

Revision ID: 5d87c578612a
Revises:
Create Date: 2026-11-30 10:24:23.475357
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5d87c578612a"
down_revision = None
branch_labels = None
depends_on = None

schema = sa.MetaData()


def _belongs_to(name: str, target: str, **options: bool) -> sa.Column:
    """A column naming the row this one belongs to: deleting that row deletes this one."""
    return sa.Column(name, sa.ForeignKey(target, ondelete="CASCADE"), **options)


# Rasa 3.6's SQLTrackerStore.SQLEvent.
events = sa.Table(
    "events",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
EVENTS_ACTION_INDEX = sa.Index(
    "ix_events_action_name_timestamp", events.c.action_name, events.c.timestamp
)

sa.Table(
    "log_conversations",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, unique=True),
    sa.Column("channel", sa.String(100), index=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("last_at", sa.DateTime, nullable=False),
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("message_count", sa.Integer, nullable=False),
    sa.Column("preview", sa.String(200), nullable=False),
    sa.Column("fallback", sa.Boolean, nullable=False, index=True),
    sa.Column("min_confidence", sa.Float, index=True),
    sa.Column("helpful_count", sa.Integer, nullable=False),
    sa.Column("not_helpful_count", sa.Integer, nullable=False),
    sa.Column("negative_feedback", sa.Boolean, nullable=False, index=True),
    sa.Column("reviewed", sa.Boolean, nullable=False, index=True),
    sa.Column("reviewed_by", sa.String(100)),
    sa.Column("reviewed_at", sa.DateTime),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("last_event_id", sa.Integer, nullable=False),
    sa.Index("ix_log_conversations_recent", "last_at", "id"),
    sa.Index("ix_log_conversations_started", "started_at"),
)
sa.Table(
    "log_tags",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(60), nullable=False, unique=True),
)
sa.Table(
    "log_conversation_tags",
    schema,
    _belongs_to(
        "conversation_id",
        "log_conversations.id",
        primary_key=True,
    ),
    _belongs_to("tag_id", "log_tags.id", primary_key=True, index=True),
)
sa.Table(
    "log_messages",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    _belongs_to(
        "conversation_id",
        "log_conversations.id",
        nullable=False,
        index=True,
    ),
    sa.Column("event_id", sa.Integer, nullable=False, index=True),
    sa.Column("sent_at", sa.DateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("payload", sa.Boolean, nullable=False),
    sa.Column("intent", sa.String(255), index=True),
    sa.Column("confidence", sa.Float),
    sa.Column("top_intent", sa.String(255)),
    sa.Column("top_confidence", sa.Float),
    sa.Column("entities", sa.Text, nullable=False),
    sa.Column("feedback", sa.String(20)),
    sa.Column("label", sa.String(255), index=True),
    sa.Column("labelled_by", sa.String(100)),
    sa.Column("labelled_at", sa.DateTime),
)
sa.Table(
    "review_trainers",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sa.Table(
    "review_sessions",
    schema,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    _belongs_to("trainer_id", "review_trainers.id", nullable=False),
    sa.Column("csrf_token", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
)
sa.Table(
    "review_login_attempts",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Index("ix_review_login_attempts_username", "username", "at"),
    sa.Index("ix_review_login_attempts_address", "address", "at"),
)
sa.Table(
    "review_content_gaps",
    schema,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
sa.Table(
    "review_gap_messages",
    schema,
    sa.Column("message_id", sa.Integer, primary_key=True),
    _belongs_to(
        "gap_id",
        "review_content_gaps.id",
        nullable=False,
        index=True,
    ),
)


def upgrade() -> None:
    bind = op.get_bind()
    had_events = sa.inspect(bind).has_table("events")
    schema.create_all(bind, checkfirst=True)
    indexes = {index["name"] for index in sa.inspect(bind).get_indexes("events")}
    if had_events and EVENTS_ACTION_INDEX.name not in indexes:
        EVENTS_ACTION_INDEX.create(bind)


def downgrade() -> None:
    """Drops every table, and so every conversation: only for an empty or test database."""
    schema.drop_all(op.get_bind())
