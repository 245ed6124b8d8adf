"""One conversation (/conversations/{id}, /api/conversations/{id}): its transcript read from
Rasa's events, what a trainer notes on it (reviewed, a note, tags), and erasing it."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.db import as_stored, utcnow
from bot.review.console import (
    CONFIG,
    LOG,
    as_json,
    audited,
    in_thread,
    object_id,
    refused_as_http,
    render,
    safe_next,
    username,
)
from bot.review.database import (
    ConversationLog,
    ConversationRow,
    NotFound,
    copy_row,
    one_conversation,
)
from bot.tracking import retention
from bot.tracking.models import Conversation, Message, Tag, conversation_tags
from bot.tracking.retention import TRANSCRIPT, Removed
from bot.tracking.store import EVENTS

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,59}$")


def install(app: web.Application) -> None:
    app.add_routes(
        [
            web.get(r"/conversations/{id:\d+}", view, name="transcript"),
            web.post(r"/conversations/{id:\d+}/reviewed", mark_reviewed, name="reviewed"),
            web.post(r"/conversations/{id:\d+}/note", save_note, name="note"),
            web.post(r"/conversations/{id:\d+}/tags", tag, name="add_tag"),
            web.post(r"/conversations/{id:\d+}/tags/remove", untag, name="remove_tag"),
            web.get(r"/conversations/{id:\d+}/erase", erase_form, name="erase_form"),
            web.post(r"/conversations/{id:\d+}/erase", erase_post, name="erase"),
            web.get(r"/api/conversations/{id:\d+}", api_transcript, name="api_transcript"),
        ]
    )


@dataclass(frozen=True)
class MessageRow:
    id: int
    event_id: int
    text: str
    payload: bool
    intent: str | None
    confidence: float | None
    top_intent: str | None
    top_confidence: float | None
    entities: list[dict[str, Any]]
    feedback: str | None
    label: str | None
    labelled_by: str | None


@dataclass(frozen=True)
class Turn:
    """One line of a transcript: a user message, a bot reply, an action or a slot set."""

    kind: str
    at: datetime
    text: str = ""
    name: str = ""
    buttons: tuple[str, ...] = ()
    message: MessageRow | None = None


@dataclass(frozen=True)
class Transcript:
    conversation: ConversationRow
    turns: list[Turn]


# --- queries -------------------------------------------------------------------------------


def conversation(log: ConversationLog, conversation_id: int) -> ConversationRow:
    with log.session() as session:
        return one_conversation(session, conversation_id)[1]


def transcript(log: ConversationLog, conversation_id: int) -> Transcript:
    """The conversation's turns, from Rasa's events, with each user message's index row."""
    with log.session() as session:
        found, row = one_conversation(session, conversation_id)
        messages = {
            m.event_id: copy_row(MessageRow, m, entities=json.loads(m.entities or "[]"))
            for m in session.execute(
                select(Message).where(Message.conversation_id == found.id)
            ).scalars()
        }
        events = session.execute(
            select(EVENTS.c.id, EVENTS.c.data)
            .where(EVENTS.c.sender_id == found.sender_id)
            .order_by(EVENTS.c.id)
        ).all()
    return Transcript(row, [t for t in (_turn(i, d, messages) for i, d in events) if t])


def _turn(event_id: int, raw: str, messages: dict[int, MessageRow]) -> Turn | None:
    data = json.loads(raw)
    kind = data.get("event")
    moment = as_stored(datetime.fromtimestamp(data.get("timestamp") or 0, timezone.utc))
    if kind == "user":
        message = messages.get(event_id)
        return Turn("user", moment, text=data.get("text") or "", message=message)
    if kind == "bot":
        buttons = tuple(
            str(b.get("title", "")) for b in (data.get("data") or {}).get("buttons") or []
        )
        return Turn("bot", moment, text=data.get("text") or "", buttons=buttons)
    if kind == "action" and data.get("name") not in (None, "action_listen"):
        return Turn("action", moment, name=data["name"])
    if kind == "slot":
        return Turn("slot", moment, name=data.get("name") or "", text=str(data.get("value")))
    if kind == "session_started":
        return Turn("session", moment, name="session started")
    return None


def set_reviewed(log: ConversationLog, conversation_id: int, reviewed: bool, by: str) -> None:
    with log.session() as session:
        values: dict[str, Any] = {
            "reviewed": reviewed,
            "reviewed_by": by if reviewed else None,
            "reviewed_at": utcnow() if reviewed else None,
        }
        _update(session, conversation_id, values)


def set_note(log: ConversationLog, conversation_id: int, note: str) -> None:
    with log.session() as session:
        _update(session, conversation_id, {"note": note.strip()[:5000]})


def _update(session: Session, conversation_id: int, values: dict[str, Any]) -> None:
    done = session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(**values)
    )
    if done.rowcount == 0:
        raise NotFound(conversation_id)


def add_tag(log: ConversationLog, conversation_id: int, name: str) -> str:
    name = " ".join(name.lower().split())
    if not TAG_PATTERN.match(name):
        raise ValueError(
            "a tag is 1 to 60 lower-case letters, digits, spaces, dashes or underscores"
        )
    with log.session() as session:
        if session.get(Conversation, conversation_id) is None:
            raise NotFound(conversation_id)
        found = session.execute(select(Tag).where(Tag.name == name)).scalar_one_or_none()
        if found is None:
            found = Tag(name=name)
            session.add(found)
            session.flush()
        already = session.execute(
            select(conversation_tags).where(
                conversation_tags.c.conversation_id == conversation_id,
                conversation_tags.c.tag_id == found.id,
            )
        ).first()
        if already is None:
            session.execute(
                conversation_tags.insert().values(conversation_id=conversation_id, tag_id=found.id)
            )
    return name


def remove_tag(log: ConversationLog, conversation_id: int, name: str) -> None:
    with log.session() as session:
        tag_id = session.execute(select(Tag.id).where(Tag.name == name)).scalar()
        if tag_id is not None:
            session.execute(
                delete(conversation_tags).where(
                    conversation_tags.c.conversation_id == conversation_id,
                    conversation_tags.c.tag_id == tag_id,
                )
            )


def _sender(session: Session, conversation_id: int) -> str:
    sender = session.execute(
        select(Conversation.sender_id).where(Conversation.id == conversation_id)
    ).scalar()
    if sender is None:
        raise NotFound(conversation_id)
    return str(sender)


def erase(
    log: ConversationLog, conversation_id: int, by: str, via: str = "console"
) -> tuple[str, Removed]:
    """Erase a conversation (bot.tracking.retention) on request; its pseudonym and what
    went. Recorded in the audit trail."""
    with retention.writing(log.engine) as session:
        sender = _sender(session, conversation_id)
        return sender, retention.erase_conversation(session, sender, actor=by, via=via)


def measure(log: ConversationLog, conversation_id: int) -> Removed:
    """What erasing the conversation would remove (for the confirmation page)."""
    with log.session() as session:
        return retention.measure(session, [_sender(session, conversation_id)])


def _erasing(log: ConversationLog, conversation_id: int) -> tuple[ConversationRow, Removed]:
    return conversation(log, conversation_id), measure(log, conversation_id)


# --- handlers ------------------------------------------------------------------------------


def _back(conversation_id: int, anchor: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/conversations/{conversation_id}{anchor}")


async def view(request: web.Request) -> web.Response:
    with refused_as_http("no such conversation"):
        found = await in_thread(transcript, request.app[LOG], object_id(request))
    await audited(request, TRANSCRIPT, conversation=found.conversation.sender_id)
    return render(
        request,
        "transcript.html",
        transcript=found,
        conversation=found.conversation,
        intents=request.app[CONFIG].intents,
        back=safe_next(request.query.get("back")),
    )


async def mark_reviewed(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reviewed = form.get("reviewed") == "1"
    with refused_as_http():
        await in_thread(
            set_reviewed, request.app[LOG], object_id(request), reviewed, username(request)
        )
    raise _back(object_id(request))


async def save_note(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    with refused_as_http():
        await in_thread(set_note, request.app[LOG], object_id(request), str(form.get("note", "")))
    raise _back(object_id(request))


async def tag(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    with refused_as_http():
        await in_thread(add_tag, request.app[LOG], object_id(request), str(form.get("tag", "")))
    raise _back(object_id(request))


async def untag(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await in_thread(remove_tag, request.app[LOG], object_id(request), str(form.get("tag", "")))
    raise _back(object_id(request))


async def erase_form(request: web.Request) -> web.Response:
    """Are you sure? What erasing this conversation removes, and the button that does it."""
    with refused_as_http("no such conversation"):
        found, removed = await in_thread(_erasing, request.app[LOG], object_id(request))
    return render(request, "erase.html", conversation=found, removed=removed)


async def erase_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if form.get("confirm") != "yes":
        raise web.HTTPSeeOther(f"/conversations/{object_id(request)}/erase")
    with refused_as_http("no such conversation"):
        sender, removed = await in_thread(
            erase, request.app[LOG], object_id(request), username(request)
        )
    raise web.HTTPSeeOther("/audit?" + urlencode({"erased": sender, "n": str(removed.events)}))


async def api_transcript(request: web.Request) -> web.Response:
    with refused_as_http():
        found = await in_thread(transcript, request.app[LOG], object_id(request))
    await audited(request, TRANSCRIPT, conversation=found.conversation.sender_id, detail="JSON API")
    return as_json(asdict(found))
