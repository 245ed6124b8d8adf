"""The conversation log on SQLite and on a real PostgreSQL server: masked, indexed, readable."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import create_engine, delete, select

from bot import serve
from bot.settings import PROJECT_ROOT, Settings
from bot.tracking.indexer import reindex
from bot.tracking.models import Conversation, Message
from bot.tracking.store import EVENTS, MaskingTrackerStore
from tests.support.tracking import (
    PERSONAL_MESSAGE,
    answer,
    assert_nothing_personal,
    converse,
    domain,
    dump,
    feedback,
    user,
)


@pytest.fixture
def store(log_url: str) -> Iterator[MaskingTrackerStore]:
    found = MaskingTrackerStore(domain=domain(), host=log_url)
    yield found
    found.engine.dispose()


async def test_personal_data_is_nowhere_in_the_database(
    store: MaskingTrackerStore, log_url: str
) -> None:
    entity = {"entity": "email", "value": "jane.doe@example.com", "start": 8, "end": 28}
    await converse(
        store,
        "someone",
        [
            [user(PERSONAL_MESSAGE, "ask_duties", 0.93, entities=[entity]), *answer()],
            [user("and my mobile is 07700 900123", "inform_role", 0.31), *answer("Sorry")],
        ],
    )
    assert_nothing_personal(log_url)
    tracker = await store.retrieve("someone")
    assert tracker is not None
    assert tracker.latest_message.text == "and my mobile is [phone]"


async def test_the_index_follows_the_conversation(store: MaskingTrackerStore) -> None:
    await converse(
        store,
        "learner",
        [
            [user("what does an AP do", "ask_duties", 0.97), *answer()],
            feedback("not_helpful"),
            [
                user(
                    "blorf qwzx",
                    "nlu_fallback",
                    0.55,
                    ranking=[("nlu_fallback", 0.55), ("ask_overview", 0.32), ("greet", 0.1)],
                ),
                ActionExecuted("action_two_stage_fallback"),
                BotUttered("Did you mean ...?"),
                ActionExecuted("action_listen"),
            ],
            feedback("helpful"),
        ],
    )
    with store.session_scope() as session:
        conversation = session.execute(select(Conversation)).scalar_one()
        messages = session.execute(select(Message).order_by(Message.id)).scalars().all()
        assert conversation.sender_id == store.pseudonym("learner")
        assert conversation.channel == "rest"
        assert conversation.message_count == 4
        assert conversation.fallback is True
        assert conversation.min_confidence == pytest.approx(0.32)
        assert (conversation.helpful_count, conversation.not_helpful_count) == (1, 1)
        assert conversation.negative_feedback is True
        assert conversation.preview == "what does an AP do"
        assert [(m.text, m.intent, m.top_intent, m.payload, m.feedback) for m in messages] == [
            ("what does an AP do", "ask_duties", "ask_duties", False, "not_helpful"),
            ("/feedback_not_helpful", "feedback_not_helpful", "feedback_not_helpful", True, None),
            ("blorf qwzx", "nlu_fallback", "ask_overview", False, "helpful"),
            ("/feedback_helpful", "feedback_helpful", "feedback_helpful", True, None),
        ]
        stored_ids = set(session.execute(select(EVENTS.c.id)).scalars())
        assert {m.event_id for m in messages} <= stored_ids


async def test_reindex_rebuilds_the_same_index_from_the_events(
    store: MaskingTrackerStore,
) -> None:
    await converse(
        store,
        "a",
        [[user("what does an AP do", "ask_duties", 0.97), *answer()], feedback("not_helpful")],
    )
    await converse(store, "b", [[user("hello", "greet", 0.99), *answer("Hello!")]])

    def snapshot() -> list[tuple[object, ...]]:
        with store.session_scope() as session:
            return [
                (c.sender_id, c.message_count, c.min_confidence, c.not_helpful_count, c.preview)
                for c in session.execute(select(Conversation).order_by(Conversation.sender_id))
                .scalars()
                .all()
            ]

    before = snapshot()
    with store.session_scope() as session:
        session.execute(delete(Message))
        session.execute(delete(Conversation))
        session.commit()
    with store.session_scope() as session:
        assert reindex(session, EVENTS) > 0
        session.commit()
    assert snapshot() == before
    with store.session_scope() as session:  # and a second run changes nothing
        reindex(session, EVENTS)
        session.commit()
    assert snapshot() == before


async def test_rasa_builds_it_from_the_endpoints_file_serve_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = serve.write_endpoints(serve.Ports(rasa=1234, actions=4321), tmp_path)
    import yaml

    config = yaml.safe_load(path.read_text())["tracker_store"]
    assert config == {"type": "bot.tracking.store.MaskingTrackerStore"}
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("TRACKER_STORE_URL", url)
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        created = TrackerStore.create(EndpointConfig.from_dict(config), domain=domain())
    finally:
        get_settings.cache_clear()
    assert isinstance(created, MaskingTrackerStore)
    assert str(created.engine.url) == url


def test_the_default_log_is_a_sqlite_file_under_var() -> None:
    settings = Settings.from_env({})
    assert settings.tracker_store_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'conversations.db'}"
    url = "postgresql+psycopg2://u@127.0.0.1/log"
    assert Settings.from_env({"TRACKER_STORE_URL": url}).tracker_store_url == url


async def test_events_round_trip_as_json(store: MaskingTrackerStore, log_url: str) -> None:
    await converse(store, "x", [[user("hello", "greet", 0.99), *answer("Hello!")]])
    engine = create_engine(log_url, future=True)
    with engine.connect() as connection:
        data = [json.loads(d) for d in connection.execute(select(EVENTS.c.data)).scalars()]
    engine.dispose()
    assert [d["event"] for d in data if d["event"] in ("user", "bot")] == ["user", "bot"]


# What issue 14 found the masking let through, as a user would type it.
MORE_PERSONAL = [
    ("QQ 12 34 56 C", "[ni number]"),
    ("4111 1111 1111 1111", "[card number]"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("07700.900.456", "[phone]"),
    ("447700900789", "[number]"),
    ("01/02/1990", "[date]"),
    ("14th March 1988", "[date]"),
]
CARE_WORDS = ["level 3", "4 GCSEs", "999", "NHS 111"]


async def test_more_personal_data_and_client_metadata_are_nowhere(
    store: MaskingTrackerStore, log_url: str
) -> None:
    message = (
        "my NI is QQ 12 34 56 C, card 4111 1111 1111 1111, in Paris +33 1 23 45 67 89 or "
        "07700.900.456 or 447700900789, born 01/02/1990 (my son 14th March 1988). "
        "Is level 3 with 4 GCSEs enough? I called 999 and NHS 111"
    )
    turn = user(message, "ask_entry_requirements", 0.8)
    # What a client may send along (REST and socket.io metadata), under keys that are
    # structure elsewhere in an event.
    turn.metadata = {
        "name": "QQ 12 34 56 C",
        "message_id": "4111 1111 1111 1111",
        "contact": {"name": "+33 1 23 45 67 89", "entity": ["07700.900.456 447700900789"]},
        "event": "01/02/1990 and 14th March 1988",
    }
    await converse(store, "someone", [[turn, *answer()]])
    stored = dump(log_url)
    squeezed = "".join(stored.split())
    for raw, label in MORE_PERSONAL:
        assert raw not in stored
        assert "".join(raw.split()) not in squeezed
        assert label in stored
    for word in CARE_WORDS:
        assert word in stored
    assert '"contact": {"name": "[phone]"' in stored  # the metadata was stored, masked


async def test_a_slow_database_does_not_stop_other_conversations(tmp_path: Path) -> None:
    """Saving waits for the database in a thread: the event loop (other users' messages)
    keeps running meanwhile. Held by another writer, SQLite makes the save wait."""
    import asyncio
    import sqlite3
    import threading

    path = tmp_path / "log.db"
    store = MaskingTrackerStore(domain=domain(), host=f"sqlite:///{path}")
    blocker = sqlite3.connect(path, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.6, blocker.rollback).start()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        await converse(store, "slow", [[user("what does an AP do", "ask_duties", 0.97)]])
    finally:
        ticker.cancel()
        blocker.close()
        store.engine.dispose()
    assert ticks >= 20, f"the event loop ran only {ticks} times in 0.6 s"


async def test_saves_to_a_sqlite_file_take_turns_and_all_land(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's busy handler sleeps up to 100 ms between tries when another writer holds the
    lock; this process's saves take turns on a lock of their own instead. Each save is held
    inside for a moment, so without the turns the conversations' saves overlap."""
    store = MaskingTrackerStore(domain=domain(), host=f"sqlite:///{tmp_path / 'log.db'}")
    inside, most = 0, 0
    counting = threading.Lock()
    store_events = store._store_events

    def slow_store_events(tracker: Any, key: str) -> Any:
        nonlocal inside, most
        with counting:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        try:
            return store_events(tracker, key)
        finally:
            with counting:
                inside -= 1

    monkeypatch.setattr(store, "_store_events", slow_store_events)
    senders = [f"visitor-{n}" for n in range(6)]
    try:
        await asyncio.gather(
            *(converse(store, s, [[user("what do they do", "ask_duties", 0.9)]]) for s in senders)
        )
        assert most == 1
        for sender in senders:
            tracker = await store.retrieve(sender)
            assert tracker is not None and tracker.latest_message.text == "what do they do"
    finally:
        store.engine.dispose()


def test_a_server_database_takes_concurrent_saves(postgres_url: str) -> None:
    store = MaskingTrackerStore(domain=domain(), host=postgres_url)
    try:
        assert store._write_turn is None
    finally:
        store.engine.dispose()
