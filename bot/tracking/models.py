"""The conversation log's index: one row per conversation, one per user message.

Rasa keeps every event as JSON in its `events` table. Reading that JSON for every list or
filter would not scale, so the tracker store also keeps these rows up to date as it saves
(in the same transaction), and the review console queries only them. Trainers' annotations
(review status, note, tags, an intent label per message) live here too, and so does the audit
trail of who read, exported or erased conversations. The tables are made and changed by
bot/migrations: a change here needs a revision there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

# SQLAlchemy 1.4 has no typed declarative base; mypy sees Any rather than a bogus class.
Base: Any = declarative_base()

HELPFUL = "helpful"
NOT_HELPFUL = "not_helpful"
# The Unanswered page looks up actions by name and time in Rasa's events table; without this
# index (made by bot.migrations) that is a scan of every event (10,000 conversations: 250 ms,
# not 50 ms).
EVENTS_ACTION_INDEX = "ix_events_action_name_timestamp"

conversation_tags = Table(
    "log_conversation_tags",
    Base.metadata,
    Column(
        "conversation_id",
        ForeignKey("log_conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_id", ForeignKey("log_tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Conversation(Base):
    """A sender's conversation (every session of it), summarised for listing and filtering."""

    __tablename__ = "log_conversations"
    __table_args__ = (
        Index("ix_log_conversations_recent", "last_at", "id"),
        Index("ix_log_conversations_started", "started_at"),
    )

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(255), nullable=False, unique=True)
    channel = Column(String(100), index=True)
    started_at = Column(DateTime, nullable=False)
    last_at = Column(DateTime, nullable=False)
    day = Column(Date, nullable=False, index=True)
    message_count = Column(Integer, nullable=False, default=0)
    # The first message typed (masked), shortened: what the list shows.
    preview = Column(String(200), nullable=False, default="")
    fallback = Column(Boolean, nullable=False, default=False, index=True)
    # The lowest classifier confidence of any typed message (button payloads excluded).
    min_confidence = Column(Float, index=True)
    helpful_count = Column(Integer, nullable=False, default=0)
    not_helpful_count = Column(Integer, nullable=False, default=0)
    negative_feedback = Column(Boolean, nullable=False, default=False, index=True)
    reviewed = Column(Boolean, nullable=False, default=False, index=True)
    reviewed_by = Column(String(100))
    reviewed_at = Column(DateTime)
    note = Column(Text, nullable=False, default="")
    # The id of the last Rasa event folded into this row: the indexer resumes after it.
    last_event_id = Column(Integer, nullable=False, default=0)

    messages = relationship("Message", back_populates="conversation", order_by="Message.id")
    tags = relationship("Tag", secondary=conversation_tags, order_by="Tag.name")


class Message(Base):
    """A user message as stored (masked), what the model made of it, and a trainer's label."""

    __tablename__ = "log_messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(
        ForeignKey("log_conversations.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_id = Column(Integer, nullable=False, index=True)
    sent_at = Column(DateTime, nullable=False)
    text = Column(Text, nullable=False)
    # A button press ("/feedback_helpful"): never a training example.
    payload = Column(Boolean, nullable=False, default=False)
    intent = Column(String(255), index=True)
    confidence = Column(Float)
    # The classifier's best intent other than nlu_fallback, and its confidence.
    top_intent = Column(String(255))
    top_confidence = Column(Float)
    entities = Column(Text, nullable=False, default="[]")
    # "helpful" / "not_helpful" when the user rated the answer to this message.
    feedback = Column(String(20))
    # The intent a trainer says is right ("out_of_scope" included).
    label = Column(String(255), index=True)
    labelled_by = Column(String(100))
    labelled_at = Column(DateTime)

    conversation = relationship("Conversation", back_populates="messages")


class Tag(Base):
    __tablename__ = "log_tags"

    id = Column(Integer, primary_key=True)
    name = Column(String(60), nullable=False, unique=True)


class AuditEntry(Base):
    """Who read, exported or erased conversations, and when: the trainers' access is
    accountable, and an erasure is recorded. Never the content: a conversation is named by
    its pseudonym, and an erasure by how many events it removed."""

    __tablename__ = "log_audit"
    __table_args__ = (Index("ix_log_audit_conversation", "conversation", "at"),)

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    # "transcript", "export", "erasure" or "purge" (bot.tracking.retention.AUDITED).
    action = Column(String(20), nullable=False, index=True)
    # A trainer's username, the operating-system user of a command, or "the person".
    actor = Column(String(100), nullable=False)
    # Where: "console", "command line", "retention", or the channel a person asked on.
    via = Column(String(40), nullable=False)
    # The conversation's pseudonym (log_conversations.sender_id); None for an export or purge.
    conversation = Column(String(255))
    # Events removed (an erasure or a purge); conversations removed (a purge).
    events = Column(Integer)
    conversations = Column(Integer)
    # What was exported ("NLU export, 12 examples"): counts and kinds only, never text.
    detail = Column(String(200), nullable=False, default="")
