"""An event broker configured as Rasa configures one gets only masked, pseudonymous events."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from sqlalchemy import create_engine, select

from bot.tracking.identity import pseudonym
from bot.tracking.store import EVENTS, MaskingTrackerStore
from tests.support.tracking import (
    PERSONAL,
    PERSONAL_MESSAGE,
    CollectingBroker,
    answer,
    converse,
    domain,
    user,
)

PHONE = "+447700900123"
KEY = "b" * 40


async def test_the_event_broker_sees_masked_text_under_the_pseudonym(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    endpoints_file = tmp_path / "endpoints.yml"
    endpoints_file.write_text(
        yaml.safe_dump(
            {
                "tracker_store": {
                    "type": "bot.tracking.store.MaskingTrackerStore",
                    "url": url,
                    "sender_id_key": KEY,
                },
                "event_broker": {"type": "tests.support.tracking.CollectingBroker"},
            }
        )
    )
    # As rasa.core.agent.load_agent builds them.
    endpoints = AvailableEndpoints.read_endpoints(str(endpoints_file))
    broker = await EventBroker.create(endpoints.event_broker)
    assert isinstance(broker, CollectingBroker)
    store = TrackerStore.create(endpoints.tracker_store, domain(), broker)
    assert isinstance(store, MaskingTrackerStore)

    await converse(
        store,
        PHONE,
        [
            [user(PERSONAL_MESSAGE, "ask_duties", 0.9), *answer()],
            [user("and 07700 900123 again", "inform_role", 0.4), *answer("Sorry")],
        ],
    )
    sent = json.dumps(broker.published)
    for raw, label in PERSONAL.items():
        assert raw not in sent
        assert label in sent
    assert PHONE not in sent and PHONE[1:] not in sent
    assert {event["sender_id"] for event in broker.published} == {pseudonym(PHONE, KEY)}
    # Each stored event is published once, as stored.
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        stored = [json.loads(d) for d in connection.execute(select(EVENTS.c.data)).scalars()]
    engine.dispose()
    assert [{k: v for k, v in e.items() if k != "sender_id"} for e in broker.published] == stored

    # Rasa's own entry point for streaming (not used by our save) masks too.
    tracker = await store.get_or_create_tracker(PHONE)
    tracker.update(user("mail jane.doe@example.com", "inform_role", 0.5))
    await store.stream_events(tracker)
    assert broker.published[-1]["text"] == "mail [email]"
    assert broker.published[-1]["sender_id"] == pseudonym(PHONE, KEY)
    store.engine.dispose()
