"""Retention and erasure (bot.tracking.retention) on SQLite and PostgreSQL: a log holding
conversations of many ages, annotated by trainers, is purged and one conversation erased;
nothing of those removed is left in any column of any table, and those kept are whole."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from bot.cli import main
from bot.db import as_stored, make_engine, now
from bot.review import (
    conversations_page,
    dashboard_page,
    labels_page,
    transcript_page,
    unanswered_page,
)
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.tracking import retention
from bot.tracking.models import AuditEntry, Tag
from bot.tracking.retention import ERASE_ACTION, Removed
from bot.tracking.store import MaskingTrackerStore
from tests.support.retention import (
    AGES,
    KEPT,
    KEY,
    PURGED,
    RETENTION_DAYS,
    TRAINER,
    UNINDEXED,
    every_day,
    fill_ages,
    key_of,
    marker,
    sender,
    snapshot,
)
from tests.support.review import turn
from tests.support.tracking import converse, domain, dump, user

PERIOD = timedelta(days=RETENTION_DAYS)


@pytest.fixture
async def aged(log_url: str) -> str:
    """The log of tests/support/retention.py, filled now."""
    await fill_ages(log_url, time.time())
    return log_url


@pytest.fixture
def engine(aged: str) -> Iterator[Engine]:
    found = make_engine(aged)
    yield found
    found.dispose()


def audit(url: str) -> list[AuditEntry]:
    engine = make_engine(url)
    log = ConversationLog(engine)
    try:
        with log.session() as session:
            return list(session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    finally:
        engine.dispose()


def assert_gone(url: str, names: tuple[str, ...], *, audited: tuple[str, ...] = ()) -> None:
    """Nothing of conversations `names` in any column of any table; the pseudonyms of those
    in `audited` only in the audit trail's rows naming them."""
    everything = dump(url)
    for name in names:
        assert marker(name) not in everything, name
        assert snapshot(url, name) is None, name
        if name not in audited:
            assert key_of(name) not in everything, name
    for entry in audit(url):
        assert entry.conversation in (None, *(key_of(n) for n in audited))


def test_the_fill_has_every_kind_of_row(aged: str) -> None:
    everything = dump(aged)
    for name in (*AGES, UNINDEXED):
        assert marker(name) in everything
        assert snapshot(aged, name) is not None


def test_a_purge_removes_the_conversations_past_the_period_with_all_they_left(
    aged: str, engine: Engine
) -> None:
    kept = {name: snapshot(aged, name) for name in KEPT}
    measured = retention.purge(engine, PERIOD, dry_run=True)
    assert dump(aged).count(marker("ancient")) > 0  # a dry run removes nothing

    removed = retention.purge(engine, PERIOD, batch=2)

    assert removed == measured
    assert removed is not None
    assert removed.conversations == len(PURGED) + 1  # and the unindexed one
    # Per conversation: 3 user messages; a note, a tag of its own and "pay", a rating.
    assert (removed.messages, removed.notes, removed.ratings) == (12, 4, 4)
    assert (removed.tag_links, removed.gap_memberships) == (8, 4)
    assert removed.events > removed.messages
    assert_gone(aged, (*PURGED, UNINDEXED))
    for name in KEPT:
        assert snapshot(aged, name) == kept[name], name
    [entry] = audit(aged)
    assert (entry.action, entry.actor, entry.via) == ("purge", "retention", "retention")
    assert (entry.conversations, entry.events, entry.conversation) == (5, removed.events, None)
    # Again: nothing left to do, and nothing recorded.
    assert retention.purge(engine, PERIOD) == Removed()
    assert len(audit(aged)) == 1


def test_the_console_still_works_on_what_is_kept(aged: str, engine: Engine) -> None:
    retention.purge(engine, PERIOD)
    log = ConversationLog(engine)
    page = conversations_page.conversations(log, Filters())
    assert sorted(row.sender_id for row in page.rows) == sorted(key_of(n) for n in KEPT)
    assert {tag for row in page.rows for tag in row.tags} == {"pay", *map(marker, KEPT)}
    assert sorted(conversations_page.tag_names(log)) == sorted(["pay", *map(marker, KEPT)])
    for row in page.rows:
        assert transcript_page.transcript(log, row.id).conversation.note.startswith(
            "asked about pay"
        )
    start, end = every_day()
    texts = {m.text for m in unanswered_page.unanswered(log, start, end)}
    assert texts == {f"what pay band {marker(n)}" for n in KEPT} | {
        f"what does an AP do {marker(n)}" for n in KEPT
    }
    [gap] = unanswered_page.gaps(log)
    assert (gap.note, gap.count) == ("pay bands: the page gives none", len(KEPT))
    assert dashboard_page.stats(log, start, end).conversations == len(KEPT)
    assert {item.text for item in labels_page.labelled(log)} == {
        f"what pay band {marker(n)}" for n in KEPT
    }


def test_an_erasure_removes_one_conversation_and_is_audited(aged: str, engine: Engine) -> None:
    kept = {name: snapshot(aged, name) for name in KEPT if name != "yesterday"}
    with retention.writing(engine) as session:
        removed = retention.erase_conversation(
            session, key_of("yesterday"), actor=TRAINER, via="console"
        )
    assert (removed.conversations, removed.messages, removed.tag_links) == (1, 3, 2)
    assert_gone(aged, ("yesterday",), audited=("yesterday",))
    for name, before in kept.items():
        assert snapshot(aged, name) == before, name
    [entry] = audit(aged)
    assert (entry.action, entry.actor, entry.via) == ("erasure", TRAINER, "console")
    assert (entry.conversation, entry.events) == (key_of("yesterday"), removed.events)
    with make_engine(aged).connect() as connection:
        tags = set(connection.execute(select(Tag.name)).scalars())
    assert marker("yesterday") not in tags and "pay" in tags


def test_the_commands_purge_and_erase(aged: str, settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("TRACKER_STORE_URL", aged)
    settings_env.setenv("SENDER_ID_KEY", KEY)
    out = io.StringIO()
    assert main(["log", "purge", "--dry-run"], out) == 0
    assert main(["log", "purge", "--older-than", "30d"], out) == 0
    assert main(["log", "purge"], out) == 0
    phone = sender("today").removeprefix("sms:")
    assert main(["log", "erase", "--channel", "sms", "--sender", phone, "--by", "dpo"], out) == 0
    assert main(["log", "erase", "--conversation", key_of("almost")], out) == 0
    assert main(["log", "erase", "--conversation", key_of("almost")], out) == 0
    header = "the conversations idle for more than 30 days, and audit entries older than 365 days:"
    counts = [
        "       5  conversations",
        "      50  Rasa events",
        "      12  indexed user messages",
        "       4  trainers' notes",
        "       4  helpful / not helpful ratings",
        "       8  tags on conversations",
        "       4  messages in content gaps",
    ]
    records = [
        "       0  audit entries past their period",
        "       0  console login attempts past their period",
    ]
    nothing = [f"       0  {line.split(maxsplit=1)[1]}" for line in counts]
    one = [
        "       1  conversations",
        "      12  Rasa events",
        "       3  indexed user messages",
        "       1  trainers' notes",
        "       1  helpful / not helpful ratings",
        "       2  tags on conversations",
        "       1  messages in content gaps",
    ]
    assert out.getvalue().splitlines() == [
        f"Would remove {header}",
        *counts,
        *records,
        f"Removed {header}",
        *counts,
        *records,
        f"Removed {header}",
        *nothing,
        *records,
        f"Erased conversation {key_of('today')}:",
        *one,
        f"Erased conversation {key_of('almost')}:",
        *one,
        f"Nothing of conversation {key_of('almost')} is in the log (the request is in the "
        "audit trail).",
    ]
    assert_gone(aged, (*PURGED, UNINDEXED, "today", "almost"), audited=("today", "almost"))
    actors = [(e.action, e.actor, e.via) for e in audit(aged)]
    assert actors[0] == ("purge", "retention", "command line")
    assert actors[1] == ("erasure", "dpo", "command line")
    assert [a[0] for a in actors] == ["purge", "erasure", "erasure", "erasure"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--channel", "sms"], "give --channel and --sender, or --conversation"),
        (["--conversation", "not-a-pseudonym"], "a pseudonym is 32 hexadecimal digits"),
        (["--conversation", "0" * 32, "--channel", "sms"], "give --conversation, or"),
    ],
)
def test_erase_refuses_unclear_arguments(
    arguments: list[str],
    error: str,
    capsys: pytest.CaptureFixture[str],
    settings_env: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    settings_env.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path}/log.db")
    assert main(["log", "erase", *arguments], io.StringIO()) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "period"),
    [("30d", timedelta(days=30)), ("30", timedelta(days=30)), ("12h", timedelta(hours=12)),
     ("2w", timedelta(weeks=2))],
)  # fmt: skip
def test_periods(given: str, period: timedelta) -> None:
    from bot.log_cli import period as parse

    assert parse(given) == period


@pytest.mark.parametrize("given", ["0d", "0h", "-1d", "30 days", "1y", "²d"])
def test_bad_periods(given: str) -> None:
    import argparse

    from bot.log_cli import period as parse

    with pytest.raises(argparse.ArgumentTypeError):
        parse(given)


async def test_a_confirmed_delete_my_conversation_erases_it_when_the_turn_is_saved(
    log_url: str,
) -> None:
    """The person's own erasure (data/rules/privacy.yml): the turn is not stored, nor is
    anything before it, and the audit trail says the person asked, on which channel."""
    store = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    now = time.time()
    await converse(
        store,
        "sms:+447700900123",
        [turn("what does an AP do", "ask_duties", "action_answer_topic", now)],
    )
    await converse(
        store,
        "sms:+447700900124",
        [turn("how do I apply zqotherzq", "ask_how_to_apply", "action_answer_topic", now)],
    )
    await converse(
        store,
        "sms:+447700900123",
        [
            [
                user(
                    "/delete_conversation_confirmed",
                    "delete_conversation_confirmed",
                    1.0,
                    channel="twilio",
                ),
                ActionExecuted(ERASE_ACTION),
                BotUttered("I've deleted this conversation."),
                ActionExecuted("action_listen"),
            ]
        ],
    )
    gone = store.pseudonym("sms:+447700900123")
    assert await store.retrieve("sms:+447700900123") is None
    everything = dump(log_url)
    assert "what does an AP do" not in everything
    assert "zqotherzq" in everything
    [entry] = audit(log_url)
    assert (entry.action, entry.actor, entry.via) == ("erasure", "the person", "twilio")
    assert entry.conversation == gone
    # Writing again starts a new conversation.
    await converse(
        store, "sms:+447700900123", [turn("hello again", "greet", "utter_greet", time.time())]
    )
    tracker = await store.retrieve("sms:+447700900123")
    assert tracker is not None
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hello again"]
    store.engine.dispose()


async def test_an_erasure_while_a_turn_is_answered_is_not_undone_by_its_save(
    log_url: str,
) -> None:
    """A trainer erases a conversation while Rasa holds it in memory: the turn's save stores
    only what came after the erasure, not the erased events again."""
    store = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    conversation = "telegram:4242"
    await converse(
        store,
        conversation,
        [
            turn(
                "what does an AP do zqerasedzq",
                "ask_duties",
                "action_answer_topic",
                time.time() - 5,
            )
        ],
    )
    tracker = await store.retrieve(conversation)  # Rasa is answering the next message
    assert tracker is not None
    removed = await store.erase(conversation, actor=TRAINER, via="console")
    assert removed.conversations == 1
    for event in turn(
        "and how do I apply", "ask_how_to_apply", "action_answer_topic", time.time() + 1
    ):
        tracker.update(event)
    await store.save(tracker)
    assert "zqerasedzq" not in dump(log_url)
    saved = await store.retrieve(conversation)
    assert saved is not None
    assert [e.text for e in saved.events if isinstance(e, UserUttered)] == ["and how do I apply"]
    store.engine.dispose()


async def test_has_conversation(log_url: str) -> None:
    store = MaskingTrackerStore(domain=domain(), host=log_url, sender_id_key=KEY)
    assert not await store.has_conversation("slack:U1")
    await converse(store, "slack:U1", [turn("hello", "greet", "utter_greet", time.time())])
    assert await store.has_conversation("slack:U1")
    assert not await store.has_conversation("slack:U2")
    store.engine.dispose()


def test_one_purge_at_a_time_on_postgresql(postgres_url: str) -> None:
    """Another process holding the purge lock: this one does nothing and says so."""
    holder = make_engine(postgres_url)
    engine = make_engine(postgres_url)
    try:
        ConversationLog(engine).create_tables()
        with holder.connect() as connection:
            assert connection.execute(
                select(func.pg_try_advisory_lock(retention.PURGE_LOCK))
            ).scalar()
            assert retention.purge(engine, PERIOD) is None
            connection.execute(select(func.pg_advisory_unlock(retention.PURGE_LOCK)))
        assert retention.purge(engine, PERIOD) is not None
    finally:
        holder.dispose()
        engine.dispose()


def test_audit_entries_and_login_attempts_are_kept_for_their_own_period(
    aged: str, engine: Engine
) -> None:
    with retention.writing(engine) as session:
        retention.record(
            session, "transcript", actor=TRAINER, via="console", conversation=key_of("today")
        )
        session.execute(
            text(
                "INSERT INTO review_login_attempts (at, username, address, outcome) "
                "VALUES (:at, 'alice', '10.0.0.1', 'ok')"
            ),
            {"at": as_stored(now() - timedelta(days=400))},
        )
        session.flush()
        session.execute(
            text("UPDATE log_audit SET at = :at"),
            {"at": as_stored(now() - timedelta(days=400))},
        )
    removed = retention.purge(engine, PERIOD, audit_older_than=timedelta(days=365))
    assert removed is not None
    assert (removed.audit_entries, removed.login_attempts) == (1, 1)
    assert [e.action for e in audit(aged)] == ["purge"]
