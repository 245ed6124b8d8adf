"""The console's queries on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from bot.review import conversations_page, dashboard_page, labels_page, transcript_page
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog, NotFound
from tests.support.review import console_log, fill, find, name_of


@pytest.fixture
async def log(log_url: str) -> AsyncIterator[ConversationLog]:
    async with console_log(log_url, filled_by=fill) as found:
        yield found


def senders(log: ConversationLog, **query: str) -> list[str]:
    return sorted(
        name_of(r) for r in conversations_page.conversations(log, Filters.from_query(query)).rows
    )


def test_each_filter(log: ConversationLog) -> None:
    today = date.today()
    assert senders(log) == ["alice", "bob", "carol", "dan"]
    assert senders(log, negative="1") == ["alice"]
    assert senders(log, fallback="1") == ["bob"]
    assert senders(log, below="0.65") == ["bob", "dan"]
    assert senders(log, channel="socketio") == ["bob"]
    assert senders(log, q="APPLY") == ["carol"]
    assert senders(log, q="%") == []
    assert senders(log, q="AP") == ["alice", "carol", "dan"]
    assert senders(log, status="unreviewed") == ["alice", "bob", "carol", "dan"]
    assert senders(log, **{"from": (today + timedelta(days=2)).isoformat()}) == []
    assert senders(log, to=(today - timedelta(days=2)).isoformat()) == []
    around = {
        "from": (today - timedelta(days=1)).isoformat(),
        "to": (today + timedelta(1)).isoformat(),
    }
    assert senders(log, **around) == ["alice", "bob", "carol", "dan"]
    assert senders(log, negative="1", below="0.5") == []


def test_review_status_tags_and_notes(log: ConversationLog) -> None:
    alice = find(log, "alice")
    transcript_page.set_reviewed(log, alice.id, True, "trainer")
    assert senders(log, status="reviewed") == ["alice"]
    assert senders(log, status="unreviewed") == ["bob", "carol", "dan"]
    assert transcript_page.add_tag(log, alice.id, "  Wrong Role ") == "wrong role"
    transcript_page.add_tag(log, alice.id, "wrong role")
    transcript_page.add_tag(log, alice.id, "pay")
    assert transcript_page.conversation(log, alice.id).tags == ("pay", "wrong role")
    assert senders(log, tag="wrong role") == ["alice"]
    transcript_page.remove_tag(log, alice.id, "wrong role")
    assert senders(log, tag="wrong role") == []
    assert conversations_page.tag_names(log) == ["pay", "wrong role"]
    with pytest.raises(ValueError):
        transcript_page.add_tag(log, alice.id, "<b>")
    transcript_page.set_note(log, alice.id, "  asked about APs, got the answer for RAs  ")
    assert (
        transcript_page.conversation(log, alice.id).note
        == "asked about APs, got the answer for RAs"
    )
    with pytest.raises(NotFound):
        transcript_page.set_note(log, 99999, "x")


def test_pages(log: ConversationLog) -> None:
    first = conversations_page.conversations(log, Filters(), page=1, per_page=3)
    second = conversations_page.conversations(log, Filters(), page=2, per_page=3)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (4, 2, 3, 1)
    assert conversations_page.conversations(log, Filters(), page=99, per_page=3).page == 2
    newest_first = [r.last_at for r in first.rows + second.rows]
    assert newest_first == sorted(newest_first, reverse=True)


def test_transcript_shows_intents_confidences_and_replies(log: ConversationLog) -> None:
    bob = find(log, "bob")
    turns = transcript_page.transcript(log, bob.id).turns
    user = next(t for t in turns if t.kind == "user")
    assert user.message is not None
    assert (user.message.intent, user.message.top_intent) == ("nlu_fallback", "ask_overview")
    assert user.message.top_confidence == pytest.approx(0.32)
    assert [t.name for t in turns if t.kind == "action"] == ["action_two_stage_fallback"]
    assert any(t.kind == "bot" and "Did you mean" in t.text for t in turns)


def test_labels_and_the_labelled_list(log: ConversationLog) -> None:
    alice = find(log, "alice")
    messages = [t.message for t in transcript_page.transcript(log, alice.id).turns if t.message]
    typed, pressed = messages
    assert pressed.payload
    assert labels_page.set_label(log, typed.id, "ask_overview", "trainer") == alice.id
    labels_page.set_label(log, pressed.id, "feedback_not_helpful", "trainer")
    assert [(x.text, x.label) for x in labels_page.labelled(log)] == [
        ("what does an AP do", "ask_overview")
    ]
    labels_page.set_label(log, typed.id, None, "trainer")
    assert labels_page.labelled(log) == []


def test_dashboard_numbers(log: ConversationLog) -> None:
    today = date.today()
    stats = dashboard_page.stats(log, today - timedelta(days=6), today + timedelta(days=1))
    assert (stats.conversations, stats.with_fallback) == (4, 1)
    assert stats.fallback_rate == 0.25
    assert (stats.helpful, stats.not_helpful) == (1, 1)
    assert sum(n for _, n, _ in stats.days) == 4
    assert len(stats.days) == 8
    assert dict(stats.top_intents) == {
        "ask_duties": 1,
        "nlu_fallback": 1,
        "ask_how_to_apply": 1,
        "ask_training": 1,
    }
