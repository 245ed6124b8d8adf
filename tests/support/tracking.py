"""Helpers shared by the conversation-log and review-console tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import create_engine, inspect, select, text

from bot.migrations.schema import target_metadata
from bot.settings import PROJECT_ROOT
from bot.tracking.store import MaskingTrackerStore

# What a user might type that must never be stored as typed.
PERSONAL = {
    "jane.doe@example.com": "[email]",
    "07700 900123": "[phone]",
    "SW1A 1AA": "[postcode]",
    "943 476 5919": "[nhs number]",
}
PERSONAL_MESSAGE = (
    "hi, I'm jane.doe@example.com, call 07700 900123, I live at SW1A 1AA and my NHS "
    "number is 943 476 5919. what does an AP do?"
)


def fresh_log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty conversation-log database on the backend the test is parametrised with."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'conversations.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        # Every table the migrations own (the log's, the console's, the model registry's).
        target_metadata().drop_all(connection)
        # Else the next store finds the database at head and creates nothing (bot.migrations).
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return url


def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def user(
    text: str,
    intent: str,
    confidence: float,
    *,
    ranking: list[tuple[str, float]] | None = None,
    entities: list[dict[str, Any]] | None = None,
    channel: str = "rest",
    timestamp: float | None = None,
) -> UserUttered:
    """A user message as Rasa's NLU pipeline leaves it (parse data included)."""
    ranking = ranking or [(intent, confidence)]
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }
    return UserUttered(
        text,
        parse_data["intent"],
        entities or [],
        parse_data=parse_data,
        input_channel=channel,
        timestamp=timestamp,
    )


def answer(text: str = "What assistant practitioners do: ...") -> list[Event]:
    buttons = [
        {"title": "Helpful", "payload": "/feedback_helpful"},
        {"title": "Not helpful", "payload": "/feedback_not_helpful"},
    ]
    return [
        ActionExecuted("action_answer_topic"),
        BotUttered(text, {"buttons": buttons}),
        ActionExecuted("action_listen"),
    ]


def feedback(value: str) -> list[Event]:
    return [
        user(f"/feedback_{value}", f"feedback_{value}", 1.0),
        ActionExecuted("action_record_feedback"),
        BotUttered("Thanks for your feedback."),
        SlotSet("feedback", value),
        ActionExecuted("action_listen"),
    ]


async def converse(store: MaskingTrackerStore, sender: str, turns: list[list[Event]]) -> None:
    """Save each turn as Rasa does: fetch the tracker, add the turn's events, save."""
    for events in turns:
        tracker = await store.get_or_create_tracker(sender)
        for event in events:
            tracker.update(event)
        await store.save(tracker)


def dump(url: str) -> str:
    """Every value of every column of every table, as one string."""
    engine = create_engine(url, future=True)
    parts = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(select(text("*")).select_from(text(table))):
                parts += [str(value) for value in row]
    engine.dispose()
    return "\n".join(parts)


def assert_nothing_personal(url: str) -> None:
    stored = dump(url).lower()
    squeezed = "".join(stored.split()).replace("-", "")
    for raw, label in PERSONAL.items():
        assert raw.lower() not in stored
        assert "".join(raw.lower().split()) not in squeezed
        assert label in stored


def now() -> float:
    return time.time()


class CollectingBroker(EventBroker):
    """An event broker that keeps what it is sent, in this process: loaded by Rasa from an
    endpoints file's `event_broker: type: tests.support.tracking.CollectingBroker`."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: Any = None
    ) -> CollectingBroker:
        return cls()

    def publish(self, event: dict[str, Any]) -> None:
        # A copy as JSON, as a real broker would send it over the wire.
        self.published.append(json.loads(json.dumps(event)))
