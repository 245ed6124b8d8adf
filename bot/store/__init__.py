"""The role store: every fact the assistant states, with the sentence it comes from."""

from __future__ import annotations

from functools import lru_cache

from bot.settings import get_settings
from bot.store.api import (
    Comparison,
    FactInfo,
    RoleInfo,
    RoleStore,
    SourceInfo,
    StoreUnavailable,
)
from bot.store.content import Content, ContentError, read_content
from bot.store.sql import SqlRoleStore
from bot.store.topics import TOPIC_BY_INTENT, TOPIC_BY_KEY, TOPIC_TABLE, TOPICS, Topic

__all__ = [
    "TOPICS",
    "TOPIC_BY_INTENT",
    "TOPIC_BY_KEY",
    "TOPIC_TABLE",
    "Comparison",
    "Content",
    "ContentError",
    "FactInfo",
    "RoleInfo",
    "RoleStore",
    "SourceInfo",
    "SqlRoleStore",
    "StoreUnavailable",
    "Topic",
    "get_store",
    "read_content",
]


@lru_cache(maxsize=1)
def get_store() -> SqlRoleStore:
    """The store the settings name; built on first use, so importing connects to nothing."""
    return SqlRoleStore(get_settings().role_store_url)
