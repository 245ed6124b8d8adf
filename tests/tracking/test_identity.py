"""Sender ids (phone numbers) are stored only as a keyed hash; the raw id stays in memory."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bot.db import make_engine
from bot.review import conversations_page
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.tracking.identity import pseudonym
from bot.tracking.store import MaskingTrackerStore
from tests.support.tracking import answer, converse, domain, dump, user

PHONE = "+447700900123"
# The number in every shape it could be stored in.
SHAPES = [PHONE, PHONE[1:], "0" + PHONE[3:], PHONE[3:]]
KEY = "k" * 40


@pytest.fixture
def store(log_url: str) -> Iterator[MaskingTrackerStore]:
    found = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    yield found
    found.engine.dispose()


def assert_no_phone(stored: str) -> None:
    for shape in SHAPES:
        assert shape not in stored


async def test_the_number_is_nowhere_and_a_returning_user_finds_their_conversation(
    store: MaskingTrackerStore, log_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await converse(store, PHONE, [[user("what does an AP do", "ask_duties", 0.97), *answer()]])
    await converse(store, PHONE, [[user("how do I apply", "ask_how_to_apply", 0.9), *answer()]])
    assert_no_phone(dump(log_url))
    assert_no_phone(caplog.text)

    tracker = await store.retrieve(PHONE)
    assert tracker is not None
    assert tracker.sender_id == PHONE  # in memory, to reply
    assert [e.text for e in tracker.events if e.type_name == "user"] == [
        "what does an AP do",
        "how do I apply",
    ]
    # What the review console lists: one conversation, under the pseudonym.
    console = ConversationLog(make_engine(log_url))
    rows = conversations_page.conversations(console, Filters()).rows
    assert [(r.sender_id, r.message_count) for r in rows] == [(pseudonym(PHONE, KEY), 2)]
    console.engine.dispose()


async def test_an_sql_error_does_not_carry_the_number(
    store: MaskingTrackerStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE log_messages"))
    with pytest.raises(Exception) as error:
        await converse(store, PHONE, [[user("hello", "greet", 0.99), *answer()]])
    assert_no_phone(repr(error.value) + str(error.value) + caplog.text)


def test_pseudonyms_are_keyed_and_stable() -> None:
    assert pseudonym(PHONE, KEY) == pseudonym(PHONE, KEY)
    assert pseudonym(PHONE, KEY) != pseudonym(PHONE, "other" * 8)
    assert pseudonym(PHONE, KEY) != pseudonym("+447700900124", KEY)
    assert len(pseudonym(PHONE, KEY)) == 32
    assert pseudonym(PHONE) == pseudonym(PHONE)  # the local key, made once in var/
