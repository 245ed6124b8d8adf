"""The conversation list (/) and its JSON form (/api/conversations): the filters, and the
queries over the index rows that answer them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import exists, func, select

from bot.review.console import LOG, as_json, in_thread, page_number, render
from bot.review.database import (
    ConversationLog,
    ConversationRow,
    conversation_row,
    paged,
    tags_of,
)
from bot.tracking.models import Conversation, Message, Tag, conversation_tags

PER_PAGE = 50
STATUSES = ("any", "unreviewed", "reviewed")


def install(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/", conversation_list, name="conversations"),
            web.get("/api/conversations", api_conversations, name="api_conversations"),
        ]
    )


@dataclass(frozen=True)
class Filters:
    """The list's filters, parsed from a query string; invalid values are reported, not used."""

    date_from: date | None = None
    date_to: date | None = None
    channel: str | None = None
    fallback: bool = False
    below: float | None = None
    negative_feedback: bool = False
    status: str = "any"
    tag: str | None = None
    text: str | None = None
    errors: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        errors: list[str] = []

        def day(name: str) -> date | None:
            value = (query.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                errors.append(f"{name}: not a date (YYYY-MM-DD)")
                return None

        below = None
        if (query.get("below") or "").strip():
            try:
                below = float(query["below"])
                if not 0 <= below <= 1:
                    raise ValueError
            except ValueError:
                errors.append("below: a confidence between 0 and 1")
                below = None
        status = query.get("status") or "any"
        if status not in STATUSES:
            errors.append(f"status: one of {', '.join(STATUSES)}")
            status = "any"
        return cls(
            date_from=day("from"),
            date_to=day("to"),
            channel=(query.get("channel") or "").strip() or None,
            fallback=query.get("fallback") in ("1", "on", "true"),
            below=below,
            negative_feedback=query.get("negative") in ("1", "on", "true"),
            status=status,
            tag=(query.get("tag") or "").strip().lower() or None,
            text=" ".join((query.get("q") or "").split())[:200] or None,
            errors=tuple(errors),
        )

    def as_query(self) -> dict[str, str]:
        """The query-string form (for links that keep the filters)."""
        pairs = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "channel": self.channel or "",
            "fallback": "1" if self.fallback else "",
            "below": f"{self.below:g}" if self.below is not None else "",
            "negative": "1" if self.negative_feedback else "",
            "status": self.status if self.status != "any" else "",
            "tag": self.tag or "",
            "q": self.text or "",
        }
        return {k: v for k, v in pairs.items() if v}


@dataclass(frozen=True)
class Page:
    rows: list[ConversationRow]
    total: int
    page: int
    pages: int


# --- queries -------------------------------------------------------------------------------


def _conditions(filters: Filters) -> list[Any]:
    conditions: list[Any] = [Conversation.message_count > 0]
    if filters.date_from:
        conditions.append(Conversation.last_at >= datetime.combine(filters.date_from, time()))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time())
        conditions.append(Conversation.started_at < end)
    if filters.channel:
        conditions.append(Conversation.channel == filters.channel)
    if filters.fallback:
        conditions.append(Conversation.fallback.is_(True))
    if filters.below is not None:
        conditions.append(Conversation.min_confidence < filters.below)
    if filters.negative_feedback:
        conditions.append(Conversation.negative_feedback.is_(True))
    if filters.status == "reviewed":
        conditions.append(Conversation.reviewed.is_(True))
    elif filters.status == "unreviewed":
        conditions.append(Conversation.reviewed.is_(False))
    if filters.tag:
        conditions.append(
            exists()
            .where(conversation_tags.c.conversation_id == Conversation.id)
            .where(conversation_tags.c.tag_id == Tag.id)
            .where(Tag.name == filters.tag)
        )
    if filters.text:
        matching = select(Message.conversation_id).where(
            func.lower(Message.text).contains(filters.text.lower(), autoescape=True)
        )
        conditions.append(Conversation.id.in_(matching))
    return conditions


def conversations(
    log: ConversationLog, filters: Filters, page: int = 1, per_page: int = PER_PAGE
) -> Page:
    """One page of the conversations the filters match, the latest first."""
    conditions = _conditions(filters)
    with log.session() as session:
        counted = select(func.count()).select_from(Conversation).where(*conditions)
        total, page, pages = paged(session, counted, page, per_page)
        found = (
            session.execute(
                select(Conversation)
                .where(*conditions)
                .order_by(Conversation.last_at.desc(), Conversation.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            .scalars()
            .all()
        )
        tags = tags_of(session, [c.id for c in found])
        rows = [conversation_row(c, tags.get(c.id, ())) for c in found]
    return Page(rows=rows, total=total, page=page, pages=pages)


def channels(log: ConversationLog) -> list[str]:
    with log.session() as session:
        return list(
            session.execute(
                select(Conversation.channel)
                .where(Conversation.channel.is_not(None))
                .distinct()
                .order_by(Conversation.channel)
            ).scalars()
        )


def tag_names(log: ConversationLog) -> list[str]:
    with log.session() as session:
        return list(session.execute(select(Tag.name).order_by(Tag.name)).scalars())


def _listing(
    log: ConversationLog, filters: Filters, page: int
) -> tuple[Page, list[str], list[str]]:
    return conversations(log, filters, page), channels(log), tag_names(log)


# --- handlers ------------------------------------------------------------------------------


async def conversation_list(request: web.Request) -> web.Response:
    filters = Filters.from_query(request.query)
    page, channel_names, tags = await in_thread(
        _listing, request.app[LOG], filters, page_number(request)
    )
    query = filters.as_query()
    return render(
        request,
        "list.html",
        filters=filters,
        page=page,
        channels=channel_names,
        tags=tags,
        page_link=lambda n: "/?" + urlencode({**query, "page": str(n)}),
        query=urlencode(query),
    )


async def api_conversations(request: web.Request) -> web.Response:
    filters = Filters.from_query(request.query)
    if filters.errors:
        return web.json_response({"errors": list(filters.errors)}, status=400)
    page = await in_thread(conversations, request.app[LOG], filters, page_number(request))
    return as_json(
        {
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
            "conversations": [asdict(row) for row in page.rows],
        }
    )
