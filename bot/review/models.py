"""The console's own tables, kept in the conversation log's database: trainer accounts,
login sessions, the login audit trail, and the content gaps trainers mark.

A change to a table here (or in bot.tracking.models) needs a migration: see bot/migrations
and docs/operations.md, "Migrations".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import declarative_base

# SQLAlchemy 1.4 has no typed declarative base; mypy sees Any rather than a bogus class.
Base: Any = declarative_base()


class Trainer(Base):
    __tablename__ = "review_trainers"

    id = Column(Integer, primary_key=True)
    username = Column(String(100), nullable=False, unique=True)
    # "scrypt$n$r$p$salt$hash" (base64), see bot.review.auth.
    password_hash = Column(String(300), nullable=False)
    created_at = Column(DateTime, nullable=False)


class LoginSession(Base):
    """A signed-in browser. Only a hash of the cookie's token is stored."""

    __tablename__ = "review_sessions"

    token_hash = Column(String(64), primary_key=True)
    trainer_id = Column(ForeignKey("review_trainers.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(100), nullable=False)
    created_at = Column(DateTime, nullable=False)
    # When the session ends unless it is used: 30 idle minutes on, never past created + 8 h.
    expires_at = Column(DateTime, nullable=False, index=True)


class LoginAttempt(Base):
    """One try at the login form (the audit trail, and what throttling counts). No password."""

    __tablename__ = "review_login_attempts"
    __table_args__ = (
        Index("ix_review_login_attempts_username", "username", "at"),
        Index("ix_review_login_attempts_address", "address", "at"),
    )

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, index=True)
    # As typed (shortened, unprintable characters dropped): unknown names are kept too.
    username = Column(String(100), nullable=False)
    address = Column(String(64), nullable=False)
    # "checking" while scrypt runs, then "ok" or "failed"; "throttled" when refused unchecked.
    outcome = Column(String(20), nullable=False)


class ContentGap(Base):
    """Something people ask that no page covers: for the careers team, with a trainer's note."""

    __tablename__ = "review_content_gaps"

    id = Column(Integer, primary_key=True)
    note = Column(Text, nullable=False)
    created_by = Column(String(100), nullable=False)
    created_at = Column(DateTime, nullable=False)


class GapMessage(Base):
    """A user message (bot.tracking.models.Message, by id) a trainer put in a content gap."""

    __tablename__ = "review_gap_messages"

    # log_messages.id (no foreign key: that table is in another metadata); one gap each.
    message_id = Column(Integer, primary_key=True)
    gap_id = Column(
        ForeignKey("review_content_gaps.id", ondelete="CASCADE"), nullable=False, index=True
    )
