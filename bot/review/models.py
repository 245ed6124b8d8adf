"""Trainer accounts and their login sessions, kept in the conversation log's database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String
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
    expires_at = Column(DateTime, nullable=False, index=True)
