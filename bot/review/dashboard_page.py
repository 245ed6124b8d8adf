"""The dashboard (/dashboard): conversations and fallbacks per day, unanswered messages, the
most common intents and the feedback, over a range of days, drawn as SVG (bot.review.charts)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from aiohttp import web
from sqlalchemy import and_, case, func, select

from bot.review import charts
from bot.review.console import LOG, date_range, in_thread, render
from bot.review.database import ConversationLog
from bot.review.grouping import Unanswered
from bot.review.unanswered_page import unanswered
from bot.tracking.models import Conversation, Message


def install(app: web.Application) -> None:
    app.add_routes([web.get("/dashboard", dashboard, name="dashboard")])


@dataclass(frozen=True)
class Stats:
    days: list[tuple[date, int, int]]  # day, conversations, with a fallback
    conversations: int
    with_fallback: int
    top_intents: list[tuple[str, int]]
    helpful: int
    not_helpful: int

    @property
    def fallback_rate(self) -> float:
        return self.with_fallback / self.conversations if self.conversations else 0.0


def stats(log: ConversationLog, date_from: date, date_to: date, top: int = 10) -> Stats:
    in_range = and_(
        Conversation.message_count > 0,
        Conversation.day >= date_from,
        Conversation.day <= date_to,
    )
    fallback_count = func.sum(case((Conversation.fallback.is_(True), 1), else_=0))
    with log.session() as session:
        per_day = {
            day if isinstance(day, date) else date.fromisoformat(str(day)): (n, f)
            for day, n, f in session.execute(
                select(Conversation.day, func.count(), fallback_count)
                .where(in_range)
                .group_by(Conversation.day)
            )
        }
        totals = session.execute(
            select(
                func.count(),
                fallback_count,
                func.sum(Conversation.helpful_count),
                func.sum(Conversation.not_helpful_count),
            ).where(in_range)
        ).one()
        intent = func.coalesce(Message.intent, "(none)")
        top_intents = session.execute(
            select(intent, func.count())
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(in_range, Message.payload.is_(False))
            .group_by(intent)
            .order_by(func.count().desc(), intent)
            .limit(top)
        ).all()
    days = []
    current = date_from
    while current <= date_to:
        n, f = per_day.get(current, (0, 0))
        days.append((current, int(n), int(f or 0)))
        current += timedelta(days=1)
    return Stats(
        days=days,
        conversations=int(totals[0] or 0),
        with_fallback=int(totals[1] or 0),
        top_intents=[(str(name), int(n)) for name, n in top_intents],
        helpful=int(totals[2] or 0),
        not_helpful=int(totals[3] or 0),
    )


def _figures(log: ConversationLog, start: date, end: date) -> tuple[Stats, list[Unanswered]]:
    return stats(log, start, end), unanswered(log, start, end)


async def dashboard(request: web.Request) -> web.Response:
    start, end = date_range(request.query)
    found, not_answered = await in_thread(_figures, request.app[LOG], start, end)
    by_day = Counter(m.sent_at.date() for m in not_answered)
    tick = max(1, len(found.days) // 8)
    per_day = charts.columns([(d, float(n)) for d, n, _ in found.days], tick_every=tick)
    rate = charts.columns(
        [(d, f / n if n else 0.0) for d, n, f in found.days], percent=True, tick_every=tick
    )
    return render(
        request,
        "dashboard.html",
        stats=found,
        start=start,
        end=end,
        per_day=per_day,
        rate=rate,
        unanswered=len(not_answered),
        unanswered_per_day=charts.columns(
            [(d, float(by_day.get(d, 0))) for d, _, _ in found.days], tick_every=tick
        ),
        intents=charts.rows(found.top_intents),
        feedback=charts.rows(
            [("Helpful", found.helpful), ("Not helpful", found.not_helpful)],
            tones=["good", "bad"],
        ),
    )
