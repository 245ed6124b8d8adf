"""A conversation log holding conversations of many ages, annotated as trainers annotate them,
for the retention and erasure tests; and snapshots of a conversation, to check it is whole."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from rasa.shared.core.events import Event
from sqlalchemy import select, text

from bot.db import make_engine
from bot.review import conversations_page, labels_page, transcript_page, unanswered_page
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.tracking.identity import pseudonym
from bot.tracking.store import EVENTS, MaskingTrackerStore
from tests.support.review import DAY, rating, turn
from tests.support.tracking import domain

KEY = "test-retention-key-0123456789abcdef0123456789"
RETENTION_DAYS = 30
# Each conversation's age: days since its last message.
AGES = {
    "today": 0.02,
    "yesterday": 1,
    "lastweek": 6,
    "almost": 29.5,
    "justover": 30.5,
    "old": 45,
    "older": 90,
    "ancient": 400,
}
KEPT = ("today", "yesterday", "lastweek", "almost")
PURGED = ("justover", "old", "older", "ancient")
# A conversation whose events the index never saw (stock Rasa wrote them), 60 days old.
UNINDEXED = "unindexed"
TRAINER = "alice"


def marker(name: str) -> str:
    """A word only conversation `name` contains: in its messages, its note and its own tag."""
    return f"zq{name}zq"


def sender(name: str) -> str:
    """The conversation id: an SMS number for each of AGES' (the log keeps only its pseudonym)."""
    if name == UNINDEXED:
        return "rest:stock"
    return f"sms:+4477009001{list(AGES).index(name):02d}"


def key_of(name: str) -> str:
    return pseudonym(sender(name), KEY)


async def converse_at(
    store: MaskingTrackerStore, conversation: str, turns: list[list[Event]]
) -> None:
    """As tests.support.tracking.converse, with no event of the store's own (the initial
    action_listen would be stamped now): the conversation is as old as its turns say."""
    for events in turns:
        tracker = await store.get_or_create_tracker(conversation, append_action_listen=False)
        for event in events:
            tracker.update(event)
        await store.save(tracker)


async def fill_ages(url: str, now: float) -> None:
    """AGES' conversations, each a question the page cannot answer, an answer rated not
    helpful, a tag of its own and a shared one, a note, a label and a place in a content gap;
    and UNINDEXED's events."""
    store = MaskingTrackerStore(domain=domain(), host=url, sender_id_key=KEY)
    for name, age in AGES.items():
        at = now - age * DAY
        await converse_at(
            store,
            sender(name),
            [
                turn(f"what pay band {marker(name)}", "ask_pay", "action_not_on_page", at - 600),
                turn(
                    f"what does an AP do {marker(name)}",
                    "ask_duties",
                    "action_answer_topic",
                    at - 60,
                ),
                rating("not_helpful", at),
            ],
        )
    with store.engine.begin() as connection:
        for offset, kind in enumerate(("user", "bot")):
            data = {
                "event": kind,
                "text": f"hello {marker(UNINDEXED)}",
                "timestamp": now - 60 * DAY,
            }
            connection.execute(
                EVENTS.insert().values(
                    sender_id=key_of(UNINDEXED),
                    type_name=kind,
                    timestamp=now - 60 * DAY + offset,
                    data=json.dumps(data),
                )
            )
    store.engine.dispose()
    log = ConversationLog(make_engine(url))
    try:
        gap = None
        for row in conversations_page.conversations(log, Filters(), per_page=100).rows:
            name = next(n for n in AGES if key_of(n) == row.sender_id)
            transcript_page.add_tag(log, row.id, marker(name))
            transcript_page.add_tag(log, row.id, "pay")
            transcript_page.set_note(log, row.id, f"asked about pay {marker(name)}")
            transcript_page.set_reviewed(log, row.id, True, TRAINER)
            turns = transcript_page.transcript(log, row.id).turns
            first = next(t.message for t in turns if t.message is not None)
            assert first is not None
            labels_page.set_label(log, first.id, "ask_pay_and_conditions", TRAINER)
            gap = unanswered_page.mark_gap(
                log, [first.id], TRAINER, note="pay bands: the page gives none", gap_id=gap
            )
    finally:
        log.engine.dispose()


@dataclass(frozen=True)
class Snapshot:
    """Everything the log holds of one conversation, as the console and Rasa read it."""

    events: list[tuple[Any, ...]]
    transcript: dict[str, Any]


def snapshot(url: str, name: str) -> Snapshot | None:
    """Conversation `name` as stored, or None when nothing of it is."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            events = [
                tuple(row)
                for row in connection.execute(
                    select(EVENTS).where(EVENTS.c.sender_id == key_of(name)).order_by(EVENTS.c.id)
                )
            ]
            found = connection.execute(
                text("SELECT id FROM log_conversations WHERE sender_id = :key"),
                {"key": key_of(name)},
            ).scalar()
        log = ConversationLog(engine)
        transcript = asdict(transcript_page.transcript(log, found)) if found is not None else {}
    finally:
        engine.dispose()
    if not events and not transcript:
        return None
    return Snapshot(events, transcript)


def every_day() -> tuple[date, date]:
    return date(2000, 1, 1), date(2100, 1, 1)
