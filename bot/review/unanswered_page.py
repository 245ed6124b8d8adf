"""Unanswered messages and content gaps: what the assistant could not answer, grouped by
wording (/unanswered, /unanswered.csv; bot.review.grouping groups them), a group labelled or
put in a content gap at once, and the gaps (/gaps)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import and_, delete, func, select, update

from bot.db import utcnow
from bot.review.console import (
    CONFIG,
    LOG,
    WHOLE,
    audited,
    date_range,
    in_thread,
    object_id,
    page_number,
    parse_day,
    refused_as_http,
    render,
    username,
)
from bot.review.database import ConversationLog, NotFound, day_bounds
from bot.review.grouping import REASONS, Group, Unanswered, group
from bot.review.models import ContentGap, GapMessage
from bot.tracking.indexer import FALLBACK_ACTIONS
from bot.tracking.models import NOT_HELPFUL, Conversation, Message
from bot.tracking.retention import EXPORT
from bot.tracking.store import EVENTS

# The actions that mean "the assistant could not answer the message before": why, by name.
UNANSWERED_ACTIONS = {
    **dict.fromkeys(FALLBACK_ACTIONS, "fallback"),
    "action_not_on_page": "not_on_page",
    "utter_out_of_scope": "out_of_scope",
}
# A group's label or gap is applied to at most this many messages at once (a form's size).
MAX_GROUP_MESSAGES = 5000
GAP_NOTE_MAX = 2000
GROUPS_PER_PAGE = 50
DONE = {
    "label": "Labelled {n} message{s}: {they} in the export now.",
    "gap": "Put {n} message{s} in a content gap: see Content gaps.",
}


def install(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/unanswered", unanswered_page, name="unanswered"),
            web.get("/unanswered.csv", unanswered_csv, name="unanswered_csv"),
            web.post("/unanswered/label", label_group, name="label_group"),
            web.post("/unanswered/gap", gap_group, name="gap_group"),
            web.get("/gaps", gaps_page, name="gaps"),
            web.post(r"/gaps/{id:\d+}/delete", remove_gap, name="delete_gap"),
        ]
    )


@dataclass(frozen=True)
class Gap:
    """A content gap: the trainer's note and the messages put in it."""

    id: int
    note: str
    created_by: str
    created_at: datetime
    count: int
    first: datetime | None
    last: datetime | None
    examples: list[str]


# --- queries -------------------------------------------------------------------------------


def unanswered(
    log: ConversationLog, date_from: date, date_to: date, *, handled: bool = True
) -> list[Unanswered]:
    """Typed messages the assistant could not answer, sent in the range of days.

    A message counts when the next thing the assistant did was a fallback, "the page
    doesn't cover it" or "out of scope", or when the answer to it was rated not helpful.
    `handled=False` leaves out those a trainer has labelled or put in a content gap.
    """
    start, end = day_bounds(date_from, date_to)
    # The user message an action answered: the conversation's last one before it.
    before = (
        select(func.max(Message.event_id))
        .where(Message.conversation_id == Conversation.id, Message.event_id < EVENTS.c.id)
        .correlate(Conversation, EVENTS)
        .scalar_subquery()
    )
    columns = (
        Message.id,
        Message.conversation_id,
        Message.text,
        Message.sent_at,
        Message.label,
        GapMessage.gap_id,
    )
    by_action = (
        select(*columns, EVENTS.c.action_name)
        .select_from(EVENTS)
        .join(Conversation, Conversation.sender_id == EVENTS.c.sender_id)
        .join(
            Message,
            and_(Message.conversation_id == Conversation.id, Message.event_id == before),
        )
        .outerjoin(GapMessage, GapMessage.message_id == Message.id)
        .where(
            EVENTS.c.type_name == "action",
            EVENTS.c.action_name.in_(sorted(UNANSWERED_ACTIONS)),
            EVENTS.c.timestamp >= start.replace(tzinfo=timezone.utc).timestamp(),
            EVENTS.c.timestamp < end.replace(tzinfo=timezone.utc).timestamp(),
            Message.payload.is_(False),
        )
    )
    rated = (
        select(*columns)
        .outerjoin(GapMessage, GapMessage.message_id == Message.id)
        .where(
            Message.feedback == NOT_HELPFUL,
            Message.payload.is_(False),
            Message.sent_at >= start,
            Message.sent_at < end,
        )
    )
    found: dict[int, tuple[Any, set[str]]] = {}
    with log.session() as session:
        for *row, action in session.execute(by_action):
            found.setdefault(row[0], (row, set()))[1].add(UNANSWERED_ACTIONS[action])
        for row in session.execute(rated):
            found.setdefault(row[0], (tuple(row), set()))[1].add("not_helpful")
    messages = [
        Unanswered(
            id=row[0],
            conversation_id=row[1],
            text=row[2],
            sent_at=row[3],
            label=row[4],
            gap_id=row[5],
            reasons=frozenset(reasons),
        )
        for row, reasons in found.values()
        if start <= row[3] < end
    ]
    if not handled:
        messages = [m for m in messages if m.label is None and m.gap_id is None]
    return sorted(messages, key=lambda m: m.id)


def typed_messages(log: ConversationLog, date_from: date, date_to: date) -> int:
    """How many messages people typed in the range (button presses not counted)."""
    start, end = day_bounds(date_from, date_to)
    with log.session() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(Message)
                .where(Message.payload.is_(False), Message.sent_at >= start, Message.sent_at < end)
            ).scalar_one()
        )


def label_messages(log: ConversationLog, message_ids: list[int], label: str | None, by: str) -> int:
    """Label typed messages (a group of them) with an intent; returns how many."""
    ids = sorted(set(message_ids))[:MAX_GROUP_MESSAGES]
    with log.session() as session:
        done = session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.payload.is_(False))
            .values(
                label=label,
                labelled_by=by if label else None,
                labelled_at=utcnow() if label else None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(done.rowcount)


def mark_gap(
    log: ConversationLog,
    message_ids: list[int],
    by: str,
    *,
    note: str = "",
    gap_id: int | None = None,
) -> int:
    """Put typed messages in a content gap: a new one with `note`, or gap `gap_id`.

    A message is in one gap at most: it moves if it was in another. Returns the gap's id.
    """
    note = note.strip()[:GAP_NOTE_MAX]
    with log.session() as session:
        ids = list(
            session.execute(
                select(Message.id).where(
                    Message.id.in_(sorted(set(message_ids))[:MAX_GROUP_MESSAGES]),
                    Message.payload.is_(False),
                )
            ).scalars()
        )
        if not ids:
            raise ValueError("none of these messages is in the log")
        if gap_id is None:
            if not note:
                raise ValueError("a new content gap needs a note saying what is missing")
            gap = ContentGap(note=note, created_by=by, created_at=utcnow())
            session.add(gap)
            session.flush()
            gap_id = int(gap.id)
        elif session.get(ContentGap, gap_id) is None:
            raise NotFound(gap_id)
        session.execute(delete(GapMessage).where(GapMessage.message_id.in_(ids)))
        session.add_all(GapMessage(message_id=i, gap_id=gap_id) for i in ids)
    return gap_id


def delete_gap(log: ConversationLog, gap_id: int) -> None:
    with log.session() as session:
        session.execute(delete(GapMessage).where(GapMessage.gap_id == gap_id))
        if session.execute(delete(ContentGap).where(ContentGap.id == gap_id)).rowcount == 0:
            raise NotFound(gap_id)


def gaps(
    log: ConversationLog, date_from: date | None = None, date_to: date | None = None
) -> list[Gap]:
    """Every content gap, the most asked first; counts only messages in the range if given."""
    conditions: list[Any] = []
    if date_from is not None and date_to is not None:
        start, end = day_bounds(date_from, date_to)
        conditions = [Message.sent_at >= start, Message.sent_at < end]
    with log.session() as session:
        found_gaps = session.execute(select(ContentGap).order_by(ContentGap.id)).scalars().all()
        rows = session.execute(
            select(GapMessage.gap_id, Message.text, Message.sent_at)
            .join(Message, Message.id == GapMessage.message_id)
            .where(*conditions)
            .order_by(Message.sent_at.desc())
        ).all()
    texts: dict[int, list[tuple[str, datetime]]] = {}
    for gap_id, said, sent_at in rows:
        texts.setdefault(gap_id, []).append((said, sent_at))
    found = []
    for gap in found_gaps:
        asked = texts.get(gap.id, [])
        examples: list[str] = []
        for said, _ in asked:
            if said not in examples and len(examples) < 5:
                examples.append(said)
        found.append(
            Gap(
                id=gap.id,
                note=gap.note,
                created_by=gap.created_by,
                created_at=gap.created_at,
                count=len(asked),
                first=min((t for _, t in asked), default=None),
                last=max((t for _, t in asked), default=None),
                examples=examples,
            )
        )
    return sorted(found, key=lambda g: (-g.count, g.id))


def _groups(
    log: ConversationLog, start: date, end: date, handled: bool
) -> tuple[list[Group], list[Gap]]:
    """The range's unanswered messages in groups (grouping is work too), and every gap."""
    return group(unanswered(log, start, end, handled=handled)), gaps(log)


# --- handlers ------------------------------------------------------------------------------


def _choice(request: web.Request) -> tuple[date, date, bool]:
    """The range and "include handled" choice of the query."""
    start, end = date_range(request.query)
    return start, end, request.query.get("all") in ("1", "on")


def _unanswered_query(start: date, end: date, handled: bool) -> dict[str, str]:
    query = {"from": start.isoformat(), "to": end.isoformat()}
    return {**query, "all": "1"} if handled else query


async def unanswered_page(request: web.Request) -> web.Response:
    start, end, handled = _choice(request)
    groups, all_gaps = await in_thread(_groups, request.app[LOG], start, end, handled)
    query = _unanswered_query(start, end, handled)
    pages = max(1, math.ceil(len(groups) / GROUPS_PER_PAGE))
    page = min(page_number(request), pages)
    done = DONE.get(request.query.get("done", ""))
    count = request.query.get("n", "")
    done_text = ""
    if done and WHOLE.fullmatch(count):
        n = int(count)
        done_text = done.format(
            n=n, s="" if n == 1 else "s", they="it is" if n == 1 else "they are"
        )
    return render(
        request,
        "unanswered.html",
        start=start,
        end=end,
        handled=handled,
        groups=groups[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE],
        first_number=(page - 1) * GROUPS_PER_PAGE + 1,
        total_groups=len(groups),
        total_messages=sum(g.count for g in groups),
        page=page,
        pages=pages,
        page_link=lambda n: "/unanswered?" + urlencode({**query, "page": str(n)}),
        query=query,
        csv_link="/unanswered.csv?" + urlencode(query),
        reasons=REASONS,
        intents=request.app[CONFIG].intents,
        gaps=all_gaps,
        done=done_text,
    )


def csv_cell(value: Any) -> str:
    """A CSV value a spreadsheet shows as text: a leading = + - @ would start a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def unanswered_csv(request: web.Request) -> web.Response:
    start, end, handled = _choice(request)
    groups, all_gaps = await in_thread(_groups, request.app[LOG], start, end, handled)
    gap_notes = {gap.id: gap.note for gap in all_gaps}
    out = io.StringIO()
    await audited(request, EXPORT, detail=f"unanswered groups (CSV): {len(groups)} group(s)")
    writer = csv.writer(out)
    writer.writerow(
        ["group", "messages", "first_asked", "last_asked", "why", "labelled_as",
         "content_gap", "examples"]
    )  # fmt: skip
    for number, found in enumerate(groups, start=1):
        writer.writerow(
            csv_cell(value)
            for value in (
                number,
                found.count,
                found.first.strftime("%Y-%m-%d %H:%M"),
                found.last.strftime("%Y-%m-%d %H:%M"),
                "; ".join(f"{REASONS[r]} ({n})" for r, n in found.reasons),
                "; ".join(found.labels),
                "; ".join(gap_notes.get(i, "") for i in found.gap_ids),
                " | ".join(found.examples),
            )
        )
    name = f"unanswered-{start.isoformat()}-to-{end.isoformat()}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _group_form(request: web.Request) -> tuple[Any, list[int], str]:
    """The posted form, its message ids, and the Unanswered page to go back to."""
    form = await request.post()
    given = form.get("messages", "")
    parts = given.split(",") if isinstance(given, str) and given else []
    if len(parts) > MAX_GROUP_MESSAGES or not all(WHOLE.fullmatch(p) for p in parts):
        raise web.HTTPBadRequest(text=f"a group is 1 to {MAX_GROUP_MESSAGES} message ids")
    ids = [int(p) for p in parts]
    if not ids:
        raise web.HTTPBadRequest(text=f"a group is 1 to {MAX_GROUP_MESSAGES} messages")
    back_from, back_to = (parse_day(str(form.get(k, ""))) for k in ("from", "to"))
    query = {
        "from": back_from.isoformat() if back_from else "",
        "to": back_to.isoformat() if back_to else "",
        "all": "1" if form.get("all") == "1" else "",
    }
    return form, ids, urlencode({k: v for k, v in query.items() if v})


async def label_group(request: web.Request) -> web.StreamResponse:
    form, ids, back = await _group_form(request)
    label = str(form.get("label", "")).strip()
    if label not in request.app[CONFIG].intents:
        raise web.HTTPBadRequest(text=f"unknown intent '{label[:100]}'")
    done = await in_thread(label_messages, request.app[LOG], ids, label, username(request))
    raise web.HTTPSeeOther(f"/unanswered?{back}&done=label&n={done}")


async def gap_group(request: web.Request) -> web.StreamResponse:
    form, ids, back = await _group_form(request)
    chosen = str(form.get("gap", "")).strip()
    if chosen and not WHOLE.fullmatch(chosen):
        raise web.HTTPBadRequest(text="choose a content gap from the list")
    with refused_as_http("no such content gap"):
        await in_thread(
            mark_gap,
            request.app[LOG],
            ids,
            username(request),
            note=str(form.get("note", "")),
            gap_id=int(chosen) if chosen else None,
        )
    raise web.HTTPSeeOther(f"/unanswered?{back}&done=gap&n={len(set(ids))}")


async def gaps_page(request: web.Request) -> web.Response:
    return render(request, "gaps.html", gaps=await in_thread(gaps, request.app[LOG]))


async def remove_gap(request: web.Request) -> web.StreamResponse:
    with refused_as_http("no such content gap"):
        await in_thread(delete_gap, request.app[LOG], object_id(request))
    raise web.HTTPSeeOther("/gaps")
