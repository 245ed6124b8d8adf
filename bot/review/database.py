"""The conversation log's database as every console page uses it: the engine, one short session
per unit of work, and the rows more than one page shows.

Each page's own queries live in its module (bot/review/*_page.py), as functions taking this
log; lists and filters read only the index rows (bot.tracking.models), with indexed SQL.
Every function here blocks: the console's handlers call them through console.in_thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.review import auth
from bot.tracking import retention
from bot.tracking.database import LogDatabase
from bot.tracking.indexer import reindex
from bot.tracking.models import Conversation, Tag, conversation_tags
from bot.tracking.store import EVENTS


class NotFound(LookupError):
    pass


class ConversationLog(LogDatabase):
    """The conversation log's database: one short session per call."""

    def __init__(self, engine: Engine, *, scrypt_n: int = auth.SCRYPT_N) -> None:
        """`scrypt_n` below auth.SCRYPT_N is for tests only (hashing at 2^17 takes ~0.5 s)."""
        super().__init__(engine)
        self.scrypt_n = scrypt_n

    def reindex(self) -> int:
        """Index the logged events the console has not seen yet."""
        with self.session() as session:
            return reindex(session, EVENTS)

    def record(
        self,
        action: str,
        by: str,
        *,
        via: str = "console",
        conversation: str | None = None,
        detail: str = "",
    ) -> None:
        """Record a trainer's access: a transcript opened, an export made (never the content)."""
        with self.session() as session:
            retention.record(
                session, action, actor=by, via=via, conversation=conversation, detail=detail
            )


@dataclass(frozen=True)
class ConversationRow:
    id: int
    sender_id: str
    channel: str | None
    started_at: datetime
    last_at: datetime
    message_count: int
    preview: str
    fallback: bool
    min_confidence: float | None
    helpful: int
    not_helpful: int
    reviewed: bool
    reviewed_by: str | None
    note: str
    tags: tuple[str, ...] = ()


def day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC moments a range of whole days starts and ends (end excluded)."""
    return datetime.combine(date_from, time()), datetime.combine(date_to + timedelta(1), time())


Row = TypeVar("Row")


def copy_row(row: type[Row], model: object, **differing: Any) -> Row:
    """A row of the model's attributes of the same names; `differing`, the fields that are not."""
    same = {f.name: getattr(model, f.name) for f in fields(row) if f.name not in differing}  # type: ignore[arg-type]
    return row(**same, **differing)


def conversation_row(c: Conversation, tags: tuple[str, ...] = ()) -> ConversationRow:
    return copy_row(
        ConversationRow,
        c,
        helpful=c.helpful_count,
        not_helpful=c.not_helpful_count,
        tags=tags,
    )


def tags_of(session: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Each conversation's tags, by name."""
    if not ids:
        return {}
    pairs = session.execute(
        select(conversation_tags.c.conversation_id, Tag.name)
        .join(Tag, Tag.id == conversation_tags.c.tag_id)
        .where(conversation_tags.c.conversation_id.in_(ids))
        .order_by(Tag.name)
    ).all()
    found: dict[int, tuple[str, ...]] = {}
    for conversation_id, name in pairs:
        found[conversation_id] = (*found.get(conversation_id, ()), name)
    return found


def paged(session: Session, counted: Any, page: int, per_page: int) -> tuple[int, int, int]:
    """How many rows `counted` (a select of func.count()) finds, which page of how many."""
    total = int(session.execute(counted).scalar_one())
    pages = max(1, math.ceil(total / per_page))
    return total, min(max(1, page), pages), pages


def one_conversation(
    session: Session, conversation_id: int
) -> tuple[Conversation, ConversationRow]:
    """A conversation's index row and what the pages show of it; NotFound if there is none."""
    found = session.get(Conversation, conversation_id)
    if found is None:
        raise NotFound(conversation_id)
    return found, conversation_row(found, tags_of(session, [found.id]).get(found.id, ()))
