"""How long the conversation log keeps a conversation, and forgetting one on request.

A conversation is kept for LOG_RETENTION_DAYS after its last message (bot.settings); then
`purge` deletes it with everything derived from it: its Rasa events (by pseudonym), its index
rows (log_conversations, with the trainer's note, review status and feedback counts;
log_messages, with the masked text, labels and ratings), its tags (log_conversation_tags, and a
tag no conversation uses any more), and its messages' places in content gaps
(review_gap_messages). `erase` does the same for named conversations, on a person's request.
A content gap's own note is the trainer's and stays; exported NLU files are outside the log.

Deletion is in batches of conversations, one short transaction each, so a large purge never
holds the log (SQLite's one writer) for long and the assistant keeps answering meanwhile.
`measure` counts with the same conditions `erase` deletes with, so a dry run says exactly what
a purge would remove. Several processes may run `purge` (every Rasa instance, hourly, and the
Kubernetes CronJob): on PostgreSQL an advisory lock lets one at a time in, and the others skip.

Every erasure, and every purge that removed something, is recorded in the audit trail
(log_audit: who, when, which pseudonym, how many events; never the content), which is itself
kept for AUDIT_RETENTION_DAYS, as are the console's login attempts.
"""

from __future__ import annotations

import getpass
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import column, delete, exists, func, select, table
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db import as_stored, now
from bot.tracking import ERASE_ACTION
from bot.tracking.models import AuditEntry, Conversation, Message, Tag, conversation_tags

__all__ = ["ERASE_ACTION", "EVENTS", "Removed", "erase", "erase_conversation", "purge"]

logger = logging.getLogger(__name__)

EVENTS = SQLTrackerStore.SQLEvent.__table__
# The PostgreSQL advisory lock a purge holds (bot.migrations holds 4_512_012 while migrating).
PURGE_LOCK = 4_512_013

# What the audit trail records.
TRANSCRIPT = "transcript"
EXPORT = "export"
ERASURE = "erasure"
PURGE = "purge"
AUDITED = (TRANSCRIPT, EXPORT, ERASURE, PURGE)

# The console's tables that hold rows of the log, named here rather than imported: bot.review
# sits above the log, and the tracker store (in the Rasa server) erases too.
gap_messages = table("review_gap_messages", column("message_id"))
login_attempts = table("review_login_attempts", column("at"))


@dataclass(frozen=True)
class Removed:
    """What an erasure or a purge removed (or, measured, would remove)."""

    conversations: int = 0
    events: int = 0
    messages: int = 0
    notes: int = 0
    ratings: int = 0
    tag_links: int = 0
    gap_memberships: int = 0
    audit_entries: int = 0
    login_attempts: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def lines(self, *, records: bool = True) -> list[str]:
        """One line per kind of row, as the command line prints them (`records`: with the
        audit entries and login attempts a purge also forgets)."""
        names = {
            "conversations": "conversations",
            "events": "Rasa events",
            "messages": "indexed user messages",
            "notes": "trainers' notes",
            "ratings": "helpful / not helpful ratings",
            "tag_links": "tags on conversations",
            "gap_memberships": "messages in content gaps",
            "audit_entries": "audit entries past their period",
            "login_attempts": "console login attempts past their period",
        }
        if not records:
            del names["audit_entries"], names["login_attempts"]
        return [f"{getattr(self, key):>8}  {name}" for key, name in names.items()]


def _conversation_ids(senders: Sequence[str]) -> Any:
    return select(Conversation.id).where(Conversation.sender_id.in_(senders))


def _message_ids(senders: Sequence[str]) -> Any:
    return select(Message.id).where(Message.conversation_id.in_(_conversation_ids(senders)))


def _unused_tags() -> Any:
    return ~exists().where(conversation_tags.c.tag_id == Tag.id)


def measure(session: Session, senders: Sequence[str] | Any) -> Removed:
    """What `erase(session, senders)` would remove; `senders` may also be a subquery."""

    def count(statement: Any) -> int:
        return int(session.execute(statement).scalar() or 0)

    conversations = _conversation_ids(senders)
    return Removed(
        # By their events: a conversation the index does not know is one too.
        conversations=count(
            select(func.count(func.distinct(EVENTS.c.sender_id))).where(
                EVENTS.c.sender_id.in_(senders)
            )
        ),
        events=count(
            select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id.in_(senders))
        ),
        messages=count(
            select(func.count())
            .select_from(Message)
            .where(Message.conversation_id.in_(conversations))
        ),
        notes=count(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.sender_id.in_(senders), Conversation.note != "")
        ),
        ratings=count(
            select(func.sum(Conversation.helpful_count + Conversation.not_helpful_count)).where(
                Conversation.sender_id.in_(senders)
            )
        ),
        tag_links=count(
            select(func.count())
            .select_from(conversation_tags)
            .where(conversation_tags.c.conversation_id.in_(conversations))
        ),
        gap_memberships=count(
            select(func.count())
            .select_from(gap_messages)
            .where(gap_messages.c.message_id.in_(_message_ids(senders)))
        ),
    )


def erase(session: Session, senders: Sequence[str]) -> Removed:
    """Delete every row of the conversations of these pseudonyms, in `session`'s transaction:
    their events, index rows, tags and content-gap memberships (see the module docstring)."""
    senders = list(dict.fromkeys(senders))
    if not senders:
        return Removed()
    found = measure(session, senders)
    session.execute(
        delete(gap_messages).where(gap_messages.c.message_id.in_(_message_ids(senders)))
    )
    session.execute(
        delete(conversation_tags).where(
            conversation_tags.c.conversation_id.in_(_conversation_ids(senders))
        )
    )
    session.execute(
        delete(Message)
        .where(Message.conversation_id.in_(_conversation_ids(senders)))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Conversation)
        .where(Conversation.sender_id.in_(senders))
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(senders)))
    # A tag only these conversations had may describe them: it goes too.
    session.execute(delete(Tag).where(_unused_tags()).execution_options(synchronize_session=False))
    return found


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    via: str,
    conversation: str | None = None,
    events: int | None = None,
    conversations: int | None = None,
    detail: str = "",
) -> None:
    """One line of the audit trail. Never pass content: counts, kinds and pseudonyms only."""
    if action not in AUDITED:
        raise ValueError(f"not an audited action: {action!r}")
    session.add(
        AuditEntry(
            at=as_stored(now()),
            action=action,
            actor=actor[:100],
            via=via[:40],
            conversation=conversation,
            events=events,
            conversations=conversations,
            detail=detail[:200],
        )
    )


def command_user() -> str:
    """Who runs a command (`bot log erase`, `bot review export`), for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "unknown"


def erase_conversation(session: Session, sender: str, *, actor: str, via: str) -> Removed:
    """Erase one conversation (by pseudonym) on request, and record it in the audit trail
    (also when there was nothing to erase: the request was made)."""
    removed = erase(session, [sender])
    record(session, ERASURE, actor=actor, via=via, conversation=sender, events=removed.events)
    logger.info(
        "Erased conversation %s (%d events) for %s via %s", sender, removed.events, actor, via
    )
    return removed


def erased_at(session: Session, sender: str) -> float | None:
    """When the conversation of `sender` (a pseudonym) was last erased, in seconds since the
    epoch (Rasa's event timestamps), or None."""
    moment = session.execute(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.conversation == sender, AuditEntry.action == ERASURE
        )
    ).scalar()
    if moment is None:
        return None
    return float(moment.replace(tzinfo=timezone.utc).timestamp())


def _idle(cutoff: datetime) -> Any:
    """The pseudonyms of the indexed conversations whose last message is before `cutoff`."""
    return select(Conversation.sender_id).where(Conversation.last_at < cutoff)


def _idle_unindexed(cutoff: datetime) -> Any:
    """The pseudonyms of events the index does not know (written by stock Rasa, or before the
    index) whose last event is before `cutoff`."""
    return (
        select(EVENTS.c.sender_id)
        .where(~exists().where(Conversation.sender_id == EVENTS.c.sender_id))
        .group_by(EVENTS.c.sender_id)
        .having(func.max(EVENTS.c.timestamp) < cutoff.replace(tzinfo=timezone.utc).timestamp())
    )


def _old_senders(session: Session, cutoff: datetime, limit: int) -> list[str]:
    """Up to `limit` pseudonyms of conversations idle since before `cutoff`, oldest first."""
    found = list(
        session.execute(
            _idle(cutoff).order_by(Conversation.last_at, Conversation.id).limit(limit)
        ).scalars()
    )
    if len(found) < limit:
        found += list(session.execute(_idle_unindexed(cutoff).limit(limit - len(found))).scalars())
    return found


@contextmanager
def _exclusive(engine: Engine) -> Iterator[bool]:
    """True while this process is the one purging. PostgreSQL: an advisory lock, not waited
    for (another process purging now does the same work). SQLite: one writer at a time holds
    the file anyway, so batches of two purges simply take turns."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        mine = bool(connection.execute(select(func.pg_try_advisory_lock(PURGE_LOCK))).scalar())
        connection.commit()
        try:
            yield mine
        finally:
            if mine:
                connection.execute(select(func.pg_advisory_unlock(PURGE_LOCK)))
                connection.commit()


@contextmanager
def writing(engine: Engine) -> Iterator[Session]:
    """A session in a transaction that holds SQLite's write lock from its start (BEGIN
    IMMEDIATE): one that reads first and writes later can be refused at once, without the busy
    timeout, when another process wrote in between."""
    with Session(engine, future=True) as session, session.begin():
        if engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def purge(
    engine: Engine,
    older_than: timedelta,
    *,
    audit_older_than: timedelta | None = None,
    batch: int = 200,
    dry_run: bool = False,
    turn: threading.Lock | None = None,
    pause: float = 0.0,
    via: str = "retention",
) -> Removed | None:
    """Delete every conversation idle for longer than `older_than`, `batch` at a time, and
    audit entries and login attempts older than `audit_older_than`. Returns what was removed
    (with `dry_run`, what would be), or None when another process is purging.

    `turn` is held for each batch (the tracker store's SQLite write turn, so its saves and the
    purge hand over without the busy handler's sleeps); `pause` is slept between batches."""
    moment = now()
    cutoff = as_stored(moment - older_than)
    audit_cutoff = as_stored(moment - audit_older_than) if audit_older_than else None
    with _exclusive(engine) as mine:
        if not mine:
            logger.info("Another process is purging the conversation log; not this one.")
            return None
        if dry_run:
            return _measure_old(engine, cutoff, audit_cutoff)
        total = Removed()
        while True:
            with turn or nullcontext(), writing(engine) as session:
                senders = _old_senders(session, cutoff, batch)
                if not senders:
                    break
                total += erase(session, senders)
            if pause:
                time.sleep(pause)
        with turn or nullcontext(), writing(engine) as session:
            if audit_cutoff is not None:
                total += _forget_old_records(session, audit_cutoff)
            if total.conversations:
                record(
                    session,
                    PURGE,
                    actor="retention",
                    via=via,
                    conversations=total.conversations,
                    events=total.events,
                    detail=f"idle for more than {days_text(older_than)}",
                )
    if total.conversations:
        logger.info(
            "Purged %d conversation(s) (%d events) idle for more than %s",
            total.conversations,
            total.events,
            days_text(older_than),
        )
    return total


def _measure_old(engine: Engine, cutoff: datetime, audit_cutoff: datetime | None) -> Removed:
    """What `purge` would remove now."""

    def count(statement: Any) -> int:
        return int(session.execute(statement).scalar() or 0)

    with Session(engine, future=True) as session:
        found = measure(session, _idle(cutoff))
        unindexed = _idle_unindexed(cutoff)
        found += Removed(
            conversations=count(select(func.count()).select_from(unindexed.subquery())),
            events=count(
                select(func.count()).select_from(EVENTS).where(EVENTS.c.sender_id.in_(unindexed))
            ),
        )
        if audit_cutoff is not None:
            found += Removed(
                audit_entries=count(
                    select(func.count()).select_from(AuditEntry).where(AuditEntry.at < audit_cutoff)
                ),
                login_attempts=count(
                    select(func.count())
                    .select_from(login_attempts)
                    .where(login_attempts.c.at < audit_cutoff)
                ),
            )
        return found


def _forget_old_records(session: Session, cutoff: datetime) -> Removed:
    audit = session.execute(
        delete(AuditEntry)
        .where(AuditEntry.at < cutoff)
        .execution_options(synchronize_session=False)
    )
    logins = session.execute(delete(login_attempts).where(login_attempts.c.at < cutoff))
    return Removed(audit_entries=int(audit.rowcount or 0), login_attempts=int(logins.rowcount or 0))


def days_text(period: timedelta) -> str:
    """`period` in days, as a person reads it: "30 days", "1 day", "0.5 days"."""
    days = period.total_seconds() / 86400
    return f"{days:g} day{'' if days == 1 else 's'}"
