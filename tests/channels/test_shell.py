"""The terminal chat: what the shell prints for a reply (bot/channels/shell.py). Putting the
channel and the printer in Rasa's shell is tested with the other adaptations, in
tests/test_rasa_compat.py."""

from __future__ import annotations

from bot.channels.shell import with_sources_as_text


def test_a_reply_without_sources_is_printed_as_rasa_prints_it() -> None:
    message = {"text": "Hello", "buttons": [{"title": "Yes", "payload": "/affirm"}]}
    assert with_sources_as_text(message) is message


def test_a_reply_with_sources_ends_with_each_title_and_url() -> None:
    sources = [
        {"title": "Radiographer", "url": "https://www.healthcareers.nhs.uk/radiographer"},
        {"title": "Assistant", "url": "javascript:alert(1)"},
    ]
    printed = with_sources_as_text({"text": "An answer.", "sources": sources})
    assert printed["text"] == (
        "An answer.\n\nSource: Radiographer\nhttps://www.healthcareers.nhs.uk/radiographer"
    )
