"""Conversation ids are namespaced per channel, and outputs get the platform's id back."""

from __future__ import annotations

import pytest

from bot.channels.conversations import (
    NAMESPACES,
    REST,
    SMS,
    TEAMS,
    conversation_id,
    platform_id,
)


def test_the_same_platform_id_is_a_different_conversation_on_each_channel() -> None:
    ids = {conversation_id(namespace, "+447700900123") for namespace in NAMESPACES}
    assert len(ids) == len(NAMESPACES)
    assert conversation_id(SMS, "+447700900123") == "sms:+447700900123"
    assert conversation_id(REST, "+447700900123") == "rest:+447700900123"


def test_platform_id_takes_off_only_its_own_namespace() -> None:
    assert platform_id(SMS, "sms:+447700900123") == "+447700900123"
    assert platform_id(TEAMS, conversation_id(TEAMS, "29:1abc")) == "29:1abc"  # ids with ":"
    assert platform_id(SMS, "rest:+447700900123") == "rest:+447700900123"


def test_an_unknown_namespace_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown conversation namespace"):
        conversation_id("sms2", "x")
