"""The tracker cache of the conversation log (bot/tracking/store.py), on SQLite and PostgreSQL:
a cached tracker is the one the log would give back, two instances sharing a log see each
other's events, an erasure or a purge is never undone by it, and a long conversation's log
keeps every event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from sqlalchemy import func, select

from bot.db import make_engine
from bot.review import transcript_page
from bot.review.database import ConversationLog
from bot.tracking import store as store_module
from bot.tracking.models import Conversation
from bot.tracking.store import CACHE_IDLE_SECONDS, EVENTS, MaskingTrackerStore
from tests.support.tracking import PERSONAL_MESSAGE, answer, converse, domain, user

KEY = "a-test-key-for-the-cache"


@pytest.fixture
def stores(log_url: str) -> Iterator[tuple[MaskingTrackerStore, MaskingTrackerStore]]:
    """Two instances' stores on one log."""
    first = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    second = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    yield first, second
    first.engine.dispose()
    second.engine.dispose()


def turn(text: str, role: str = "assistant practitioner") -> list[Event]:
    return [user(text, "ask_duties", 0.9), SlotSet("role", role), *answer()]


def no_full_read(store: MaskingTrackerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, `store` fails if it reads a whole conversation back."""

    def refused(*_: Any) -> None:
        raise AssertionError("the whole conversation was read back")

    monkeypatch.setattr(store, "_stored_events", refused)


async def as_read_afresh(log_url: str, sender: str) -> DialogueStateTracker | None:
    fresh = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    try:
        return await fresh.retrieve(sender)
    finally:
        fresh.engine.dispose()


def state(tracker: DialogueStateTracker | None) -> dict[str, Any]:
    assert tracker is not None
    return tracker.current_state(EventVerbosity.ALL)


async def test_a_cached_tracker_is_the_one_the_log_gives_back(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore],
    log_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, _ = stores
    await converse(store, "someone", [turn("hello"), turn(PERSONAL_MESSAGE)])
    no_full_read(store, monkeypatch)
    cached = await store.retrieve("someone")
    assert cached is not None
    # Masked, as the log holds it: no personal data stays in memory past its turn.
    assert "[email]" in (cached.latest_message.text or "")
    assert state(cached) == state(await as_read_afresh(log_url, "someone"))


async def test_two_instances_sharing_a_log_see_each_others_events(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore],
    log_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = stores
    await converse(first, "someone", [turn("hello")])
    await converse(second, "someone", [turn("and for imaging support workers?", "isw")])
    no_full_read(first, monkeypatch)
    tracker = await first.retrieve("someone")
    assert tracker is not None
    assert tracker.get_slot("role") == "isw"
    assert [e.text for e in tracker.events if e.type_name == "user"] == [
        "hello",
        "and for imaging support workers?",
    ]
    assert state(tracker) == state(await as_read_afresh(log_url, "someone"))
    # The first instance answers the next turn from there, and the log has both in order.
    tracker.update(user("thanks", "thank", 0.9))
    await first.save(tracker)
    again = await as_read_afresh(log_url, "someone")
    assert again is not None
    assert [e.text for e in again.events if e.type_name == "user"] == [
        "hello",
        "and for imaging support workers?",
        "thanks",
    ]


async def test_a_turn_that_failed_before_its_save_is_not_cached(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore], log_url: str
) -> None:
    store, _ = stores
    await converse(store, "someone", [turn("hello")])
    tracker = await store.retrieve("someone")
    assert tracker is not None
    tracker.update(user("never saved", "greet", 0.9))  # and the turn fails here
    again = await store.retrieve("someone")
    assert state(again) == state(await as_read_afresh(log_url, "someone"))
    assert "never saved" not in str(state(again))


async def test_an_erasure_by_another_instance_is_not_undone_by_the_cache(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore], log_url: str
) -> None:
    first, second = stores
    await converse(first, "someone", [turn("hello"), turn("what do they do?")])
    await second.erase("someone", actor="a trainer", via="console")
    assert await first.retrieve("someone") is None
    # Written again by the other instance, with as many events as before (SQLite may even
    # reuse the erased rows' ids): only the new conversation is seen.
    await converse(first, "someone", [turn("hello"), turn("what do they do?")])
    await second.erase("someone", actor="a trainer", via="console")
    await converse(second, "someone", [turn("again"), turn("and now?")])
    tracker = await first.retrieve("someone")
    assert tracker is not None
    assert [e.text for e in tracker.events if e.type_name == "user"] == ["again", "and now?"]
    assert state(tracker) == state(await as_read_afresh(log_url, "someone"))


async def test_a_purge_by_another_instance_is_not_undone_by_the_cache(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore],
) -> None:
    first, second = stores
    old = time.time() - 40 * 24 * 3600
    events = [
        user("hello", "greet", 0.9, timestamp=old),
        ActionExecuted("utter_greet", timestamp=old),
        BotUttered("Hello!", timestamp=old),
        ActionExecuted("action_listen", timestamp=old),
    ]
    tracker = DialogueStateTracker("someone", domain().slots)
    for event in events:
        tracker.update(event)
    await first.save(tracker)
    assert first._cache
    removed = second.purge()
    assert removed is not None and removed.conversations == 1
    assert await first.retrieve("someone") is None


async def test_a_long_conversation_keeps_every_event_and_its_whole_transcript(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore], log_url: str
) -> None:
    first, second = stores
    turns = [turn(f"question number {'x' * (n % 7)} {n % 10}") for n in range(300)]
    # The two instances take turns, as nginx may send them.
    for number, events in enumerate(turns):
        await converse((first, second)[number % 2], "someone", [events])
    sent = [event for events in turns for event in events]
    engine = make_engine(log_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(EVENTS)).scalar()
            conversation = connection.execute(select(Conversation.id)).scalar_one()
        transcript = transcript_page.transcript(ConversationLog(engine), conversation)
    finally:
        engine.dispose()
    assert stored == 1 + len(sent)  # and the action_listen a new tracker starts with
    said = [t.text for t in transcript.turns if t.kind == "user"]
    assert said == [events[0].text for events in turns]
    assert len([t for t in transcript.turns if t.kind == "bot"]) == 300


async def test_a_tracker_idle_for_an_hour_is_dropped(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = stores
    await converse(store, "idle", [turn("hello")])
    await converse(store, "recent", [turn("hello")])
    assert list(store._cache) == ["idle", "recent"]
    later = time.monotonic() + CACHE_IDLE_SECONDS + 1
    monkeypatch.setattr(store_module.time, "monotonic", lambda: later)
    await converse(store, "another", [turn("hello")])
    assert list(store._cache) == ["another"]


async def test_the_latest_session_is_read_without_a_subquery_per_row(
    stores: tuple[MaskingTrackerStore, MaskingTrackerStore], log_url: str
) -> None:
    """Rasa's query joins a subquery for the session's start, which PostgreSQL ran once per
    row of the conversation (140 ms at its 300th message); the start is looked up first."""
    store, _ = stores
    for text in ("hello", "again"):
        events = [ActionExecuted("action_session_start"), SessionStarted(), *turn(text)]
        await converse(store, "someone", [events])
    with store.session_scope() as session:
        query = store._events_query(session, "someone", False)
        sql = str(query.statement.compile())
        said = [json.loads(row.data).get("text") for row in query.all() if row.type_name == "user"]
    assert sql.upper().count("SELECT") == 1
    assert said == ["again"]
    tracker = await as_read_afresh(log_url, "someone")
    assert tracker is not None and tracker.events[0].type_name == "session_started"
