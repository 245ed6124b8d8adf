"""Labels and the NLU export: a trainer labels a user message with the intent it should have
had (/messages/{id}/label), and every labelled message becomes NLU YAML (/export,
/export.yml; bot.review.export builds it)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.db import utcnow
from bot.review.console import (
    CONFIG,
    LOG,
    audited,
    in_thread,
    object_id,
    refused_as_http,
    render,
    username,
)
from bot.review.database import ConversationLog, NotFound
from bot.review.export import Export, Labelled, build_export
from bot.tracking.models import Conversation, Message
from bot.tracking.retention import EXPORT


def install(app: web.Application) -> None:
    app.add_routes(
        [
            web.post(r"/messages/{id:\d+}/label", relabel, name="label"),
            web.get("/export", export_page, name="export"),
            web.get("/export.yml", export_file, name="export_file"),
        ]
    )


# --- queries -------------------------------------------------------------------------------


def set_label(log: ConversationLog, message_id: int, label: str | None, by: str) -> int:
    """Label a user message with the right intent (None clears); returns its conversation."""
    with log.session() as session:
        message = session.get(Message, message_id)
        if message is None:
            raise NotFound(message_id)
        message.label = label
        message.labelled_by = by if label else None
        message.labelled_at = utcnow() if label else None
        return int(message.conversation_id)


def labelled(log: ConversationLog) -> list[Labelled]:
    """Every labelled message typed by a user (button presses are not examples)."""
    with log.session() as session:
        rows = session.execute(
            select(Message.text, Message.label, Conversation.sender_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.label.is_not(None), Message.payload.is_(False))
            .order_by(Message.label, Message.id)
        ).all()
    return [Labelled(text, label, sender) for text, label, sender in rows]


# --- handlers ------------------------------------------------------------------------------


async def relabel(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    label = str(form.get("label", "")).strip() or None
    if label is not None and label not in request.app[CONFIG].intents:
        raise web.HTTPBadRequest(text=f"unknown intent '{label}'")
    message_id = object_id(request)
    with refused_as_http():
        conversation_id = await in_thread(
            set_label, request.app[LOG], message_id, label, username(request)
        )
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}#message-{message_id}")


def _built(log: ConversationLog) -> Export:
    """The export of every labelled message (reading data/nlu/ too: off the loop as well)."""
    return build_export(labelled(log))


async def _export(request: web.Request, what: str) -> Export:
    found = await in_thread(_built, request.app[LOG])
    await audited(request, EXPORT, detail=f"{what}: {found.count} NLU example(s)")
    return found


async def export_page(request: web.Request) -> web.Response:
    found = await _export(request, "NLU export (page)")
    return render(request, "export.html", export=found, text=found.yaml())


async def export_file(request: web.Request) -> web.Response:
    return web.Response(
        text=(await _export(request, "NLU export (file)")).yaml(),
        content_type="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="relabelled_nlu.yml"'},
    )
