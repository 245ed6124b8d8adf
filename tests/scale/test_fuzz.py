"""Random text, JSON and bytes at the REST channel of the session's assistant (bot.serve, as
`make run` starts it), and random strings at the role store's read API: no 500, no crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import serve
from bot.channels.rest import MAX_SENDER_LENGTH, clean_text
from bot.store import TOPICS, SqlRoleStore
from tests.support.http import post_raw, say

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Every code point, surrogates and control characters included.
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=300)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
SENDERS = st.sampled_from(["fuzz-a", "fuzz-b"]) | st.text(max_size=MAX_SENDER_LENGTH + 5)


@pytest.fixture(scope="module")
def single(assistant: serve.Running) -> Iterator[serve.Running]:
    """The session's assistant (bot.serve, as `make run` starts it), which logs to PostgreSQL:
    the database that refuses a NUL."""
    yield assistant
    for name, process in assistant.processes.items():
        assert process.poll() is None, f"{name} crashed during the fuzzing"


def valid_sender(sender: Any) -> bool:
    return (
        isinstance(sender, str)
        and bool(sender.strip())
        and len(sender) <= MAX_SENDER_LENGTH
        and clean_text(sender) == sender
    )


@FUZZ
@given(sender=SENDERS, message=ANY_TEXT)
def test_any_text_message(single: serve.Running, sender: str, message: str) -> None:
    reply = say(single.rasa_url, sender, message)
    assert reply.status == (200 if valid_sender(sender) else 400), reply
    assert isinstance(reply.json(), list if reply.status == 200 else dict)


@FUZZ
@given(
    body=JSON_VALUES
    | st.fixed_dictionaries(
        {"sender": st.just("fuzz-json") | JSON_VALUES, "message": JSON_VALUES},
        optional={"metadata": JSON_VALUES, "input_channel": JSON_VALUES},
    )
)
def test_any_json_body(single: serve.Running, body: Any) -> None:
    reply = post_raw(single.rasa_url, json.dumps(body).encode())
    assert reply.status in (200, 400), reply
    assert reply.status == 200 or "error" in reply.json()


@FUZZ
@given(body=st.binary(max_size=2000))
def test_any_bytes(single: serve.Running, body: bytes) -> None:
    reply = post_raw(single.rasa_url, body)
    assert reply.status in (200, 400), reply


def test_still_answers_after_the_fuzzing(single: serve.Running) -> None:
    reply = say(single.rasa_url, "after-fuzz", "what does an assistant practitioner do?")
    assert reply.text.startswith("What assistant practitioners do:")


def test_an_oversized_body_is_refused_by_the_channel_itself(single: serve.Running) -> None:
    """No nginx and no Sanic limit in front (as `make run`): our channel says 413."""
    body = json.dumps({"sender": "big", "message": "x" * (64 * 1024)}).encode()
    reply = post_raw(single.rasa_url, body)
    assert reply.status == 413
    assert "error" in reply.json()


@FUZZ
@given(text=ANY_TEXT, other=ANY_TEXT | st.sampled_from(["assistant-practitioner"]))
@example(text="\x00", other="assistant-practitioner")  # PostgreSQL refuses a NUL in a query
@example(text="\ud800", other="assistant-practitioner")  # not UTF-8
def test_the_role_store_reads_any_string(loaded_store: SqlRoleStore, text: str, other: str) -> None:
    slugs = {role.slug for role in loaded_store.roles()}
    role = loaded_store.resolve_role(text)
    assert role is None or role.slug in slugs
    assert {found.slug for found in loaded_store.find_roles(text)} <= slugs
    for topic in (text, "duties"):
        try:
            facts = loaded_store.facts(text, topic)
        except ValueError:
            assert topic not in TOPICS
        else:
            assert text in slugs or facts == []
    try:
        comparison = loaded_store.compare(text, other)
    except ValueError:
        assert text not in slugs or other not in slugs
    else:
        assert comparison.first.slug == text
