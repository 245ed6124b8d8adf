"""Fold Rasa events into the log's index rows (bot.tracking.models).

The tracker store calls `index_events` in the transaction that inserts the events, so the
index is never behind the log; `reindex` catches up a log written without it (or by an older
version), resuming per conversation after the last event already folded in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import as_stored, now
from bot.tracking.models import HELPFUL, NOT_HELPFUL, Conversation, Message

FALLBACK_INTENT = "nlu_fallback"
# The two-stage fallback (and its steps, which our action server implements) and the core
# fallback Rasa runs when no policy is confident.
FALLBACK_ACTIONS = frozenset(
    {
        "action_two_stage_fallback",
        "action_default_fallback",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
    }
)
FEEDBACK_SLOT = "feedback"
PREVIEW_LENGTH = 200
FEEDBACK_INTENTS = frozenset({"feedback_helpful", "feedback_not_helpful"})


def utc(timestamp: float | None) -> datetime:
    """A Rasa event timestamp (seconds since the epoch) as a naive UTC datetime."""
    return as_stored(datetime.fromtimestamp(timestamp, timezone.utc) if timestamp else now())


def index_events(
    session: Session, sender_id: str, events: Iterable[tuple[int, dict[str, Any]]]
) -> Conversation | None:
    """Fold `(event id, serialised event)` pairs, in id order, into `sender_id`'s rows."""
    conversation = session.execute(
        select(Conversation).where(Conversation.sender_id == sender_id)
    ).scalar_one_or_none()
    for event_id, data in events:
        if conversation is not None and event_id <= conversation.last_event_id:
            continue
        moment = utc(data.get("timestamp"))
        if conversation is None:
            conversation = Conversation(
                sender_id=sender_id,
                started_at=moment,
                last_at=moment,
                day=moment.date(),
                message_count=0,
                preview="",
                fallback=False,
                helpful_count=0,
                not_helpful_count=0,
                negative_feedback=False,
                reviewed=False,
                note="",
                last_event_id=0,
            )
            session.add(conversation)
        conversation.last_event_id = event_id
        conversation.last_at = max(conversation.last_at, moment)
        kind = data.get("event")
        if kind == "user":
            _user_message(session, conversation, event_id, moment, data)
        elif kind == "action" and data.get("name") in FALLBACK_ACTIONS:
            conversation.fallback = True
        elif kind == "slot" and data.get("name") == FEEDBACK_SLOT:
            _feedback(session, conversation, data.get("value"))
    return conversation


def _user_message(
    session: Session,
    conversation: Conversation,
    event_id: int,
    moment: datetime,
    data: dict[str, Any],
) -> None:
    parse = data.get("parse_data") or {}
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence")
    top_name, top_confidence = name, confidence
    if name == FALLBACK_INTENT:
        conversation.fallback = True
        ranked = [r for r in parse.get("intent_ranking") or [] if r.get("name") != name]
        top_name = ranked[0].get("name") if ranked else None
        top_confidence = ranked[0].get("confidence") if ranked else None
    text = data.get("text") or ""
    payload = text.startswith("/")
    entities = [
        {k: e[k] for k in ("entity", "value", "role", "group") if e.get(k) is not None}
        for e in parse.get("entities") or []
    ]
    message = Message(
        conversation=conversation,
        event_id=event_id,
        sent_at=moment,
        text=text,
        payload=payload,
        intent=name,
        confidence=confidence,
        top_intent=top_name,
        top_confidence=top_confidence,
        entities=json.dumps(entities),
    )
    session.add(message)
    conversation.message_count += 1
    if not payload and not conversation.preview:
        conversation.preview = " ".join(text.split())[:PREVIEW_LENGTH]
    if conversation.channel is None and data.get("input_channel"):
        conversation.channel = data["input_channel"]
    if not payload and top_confidence is not None:
        current = conversation.min_confidence
        conversation.min_confidence = (
            top_confidence if current is None else min(current, top_confidence)
        )


def _feedback(session: Session, conversation: Conversation, value: Any) -> None:
    if value not in (HELPFUL, NOT_HELPFUL):
        return
    if value == HELPFUL:
        conversation.helpful_count += 1
    else:
        conversation.not_helpful_count += 1
        conversation.negative_feedback = True
    # The rating is of the answer to the last question asked (not to the rating itself).
    question = session.execute(
        select(Message)
        .where(
            Message.conversation == conversation,
            Message.payload.is_(False),
            Message.intent.not_in(FEEDBACK_INTENTS),
        )
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if question is not None:
        question.feedback = value


def reindex(session: Session, events_table: Any, batch: int = 5000) -> int:
    """Fold every event not yet in the index; returns how many events were read."""
    watermarks: dict[str, int] = {
        sender: last
        for sender, last in session.execute(
            select(Conversation.sender_id, Conversation.last_event_id)
        ).all()
    }
    read = 0
    last_id = 0
    while True:
        rows = session.execute(
            select(events_table.c.id, events_table.c.sender_id, events_table.c.data)
            .where(events_table.c.id > last_id)
            .order_by(events_table.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return read
        by_sender: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for event_id, sender_id, data in rows:
            last_id = event_id
            if event_id > watermarks.get(sender_id, 0):
                by_sender.setdefault(sender_id, []).append((event_id, json.loads(data)))
        for sender_id, events in by_sender.items():
            index_events(session, sender_id, events)
            watermarks[sender_id] = events[-1][0]
        read += len(rows)
        session.flush()
