"""`python -m bot review report`: one page for people who do not log in to the console.

Conversations, the share of messages answered, helpful / not helpful ratings, the ten largest
groups of unanswered messages and the content gaps, as HTML that survives e-mail (inline
styles only, no script, nothing fetched from anywhere) and as plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import jinja2

from bot.db import utcnow
from bot.review.dashboard_page import stats
from bot.review.database import ConversationLog
from bot.review.grouping import REASONS, Group, group
from bot.review.unanswered_page import Gap, gaps, typed_messages, unanswered

TOP_GROUPS = 10
TEMPLATES = Path(__file__).with_name("templates")
_SINCE = re.compile(r"(\d{1,4})([dw])")


@dataclass(frozen=True)
class Report:
    start: date
    end: date
    conversations: int
    typed: int
    unanswered: int
    helpful: int
    not_helpful: int
    groups: list[Group]
    group_count: int
    gaps: list[Gap]
    made_at: datetime

    @property
    def answered_share(self) -> float | None:
        """Typed messages that got an answer (not a fallback, not "not covered", not rated
        unhelpful), as a share of all typed; None when nobody typed anything."""
        return (self.typed - self.unanswered) / self.typed if self.typed else None


def parse_since(value: str, today: date) -> date:
    """The first day of the report: "7d" (the last 7 days, today included), "2w", or a date."""
    value = value.strip()
    match = _SINCE.fullmatch(value)
    if match:
        days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        if days < 1:
            raise ValueError("--since needs at least one day")
        return today - timedelta(days=days - 1)
    try:
        start = date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--since is a number of days (7d), weeks (2w) or a date, not {value[:40]!r}"
        ) from None
    if start > today:
        raise ValueError("--since is in the future")
    return start


def build(log: ConversationLog, start: date, end: date) -> Report:
    found = stats(log, start, end)
    not_answered = unanswered(log, start, end)
    groups = group(not_answered)
    return Report(
        start=start,
        end=end,
        conversations=found.conversations,
        typed=typed_messages(log, start, end),
        unanswered=len(not_answered),
        helpful=found.helpful,
        not_helpful=found.not_helpful,
        groups=groups[:TOP_GROUPS],
        group_count=len(groups),
        gaps=[g for g in gaps(log, start, end) if g.count],
        made_at=utcnow(),
    )


def _environment(html: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["when"] = lambda d: d.strftime("%Y-%m-%d") if d else ""
    environment.filters["percent"] = lambda x: "n/a" if x is None else f"{x:.0%}"
    return environment


def render_html(report: Report) -> str:
    return _environment(True).get_template("report.html").render(r=report, reasons=REASONS)


def render_text(report: Report) -> str:
    return _environment(False).get_template("report.txt").render(r=report, reasons=REASONS)
