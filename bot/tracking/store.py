"""The conversation log: Rasa's SQL tracker store, with personal data masked before storing.

Rasa loads it from the endpoints file (`tracker_store: type: bot.tracking.store.
MaskingTrackerStore`, which bot.serve writes). The database URL comes from the settings
(TRACKER_STORE_URL, by default var/conversations.db), so no password is written to disk.

On every save, the new events are masked (bot.tracking.masking), inserted under the sender's
pseudonym (bot.tracking.identity), and folded into the index rows the review console reads,
all in one transaction; then the same masked events are published, under the pseudonym, to
the event broker if one is configured. The raw sender id is only in the tracker Rasa holds in
memory (to reply), never in a row, a broker message, a log line or an SQL error.

A turn in which the person's confirmed "delete my conversation" ran (retention.ERASE_ACTION)
is not stored: the whole conversation is erased instead. The store also erases on request
(`erase`: the web widget's "Delete this conversation") and purges what is past the retention
period (`purge`, run every LOG_PURGE_INTERVAL_MINUTES by the Rasa server: bot.rasa_compat).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any, TypeVar

from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    SQLTrackerStore,
    TrackerEventDiffEngine,
    TrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from bot import migrations
from bot.db import make_engine
from bot.settings import get_settings
from bot.tracking import retention
from bot.tracking.identity import pseudonym
from bot.tracking.indexer import index_events
from bot.tracking.masking import mask_event
from bot.tracking.retention import EVENTS, Removed

__all__ = ["EVENTS", "MaskingTrackerStore", "Removed", "create_tables", "innermost_store"]

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Seconds between two batches of a purge run by the Rasa server: room for the saves.
PURGE_PAUSE = 0.05


def create_tables(engine: Any) -> None:
    """Bring the log's database to the latest schema (bot.migrations): Rasa's events table,
    the index tables and the console's. Processes starting together take turns."""
    migrations.upgrade(engine)


def sqlite_pragmas(engine: Any) -> None:
    """Kept for callers written before bot.db: `make_engine` sets the SQLite pragmas itself."""


def innermost_store(store: TrackerStore) -> TrackerStore:
    """The store inside Rasa's wrappers (FailSafeTrackerStore, AwaitableTrackerStore)."""
    while isinstance(store, FailSafeTrackerStore | AwaitableTrackerStore):
        store = store._tracker_store
    return store


class MaskingTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that masks personal data, pseudonymises senders, keeps the index, and
    forgets conversations: after the retention period, and on a person's request."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: Any = None,
        url: str | None = None,
        sender_id_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Not SQLTrackerStore.__init__: its engine has no pre-ping (the first message after a
        # database restart failed), and it retries a database that is down forever.
        url = url or host or get_settings().tracker_store_url
        self.engine = make_engine(url, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        self._key = sender_id_key or get_settings().sender_id_secret()
        # SQLite lets one writer in at a time; another waits in its busy handler, which
        # sleeps 1, 2, 5, 10 ... 100 ms between tries. This process's saves take turns here
        # instead (a handover is immediate): with 8 conversations at once, those sleeps were
        # most of the p95 latency. A server database takes concurrent writers as they come.
        self._write_turn = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        create_tables(self.engine)
        TrackerStore.__init__(self, domain, event_broker, **kwargs)

    def pseudonym(self, sender_id: str) -> str:
        return pseudonym(sender_id, self._key)

    def _event_query(
        self, session: Session, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Any:
        """Rasa's query for a sender's events, by pseudonym (retrieve and save both use it)."""
        return super()._event_query(
            session, self.pseudonym(sender_id), fetch_events_from_all_sessions
        )

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """The stored events, as a tracker that keeps the raw `sender_id` (in memory only)."""
        events = await self._off_loop(
            self._stored_events, sender_id, fetch_events_from_all_sessions
        )
        if not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _stored_events(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> list[dict[str, Any]]:
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).all()
            return [json.loads(row.data) for row in rows]

    async def _off_loop(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking database work in a thread, so other conversations are answered
        meanwhile (Rasa's SQLTrackerStore blocks the event loop). An in-memory SQLite
        database lives in one thread's connection, so it stays on the loop."""
        if isinstance(self.engine.pool, (SingletonThreadPool, StaticPool)):
            return function(*args)
        return await asyncio.to_thread(function, *args)

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Rasa's streaming, with the events masked and the sender pseudonymised."""
        if self.event_broker is None:
            return
        old = await self.retrieve(tracker.sender_id)
        new = TrackerEventDiffEngine.event_difference(old, tracker)
        self._publish(tracker.sender_id, [mask_event(event.as_dict()) for event in new])

    def _publish(self, sender_id: str, masked: list[dict[str, Any]]) -> None:
        if self.event_broker is None:
            return
        key = self.pseudonym(sender_id)
        for data in masked:
            self.event_broker.publish({**data, "sender_id": key})

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Insert the tracker's new events, masked, and index them, in one transaction; then
        publish those masked events to the event broker, if any."""
        key = self.pseudonym(tracker.sender_id)
        stored = await self._off_loop(self._store, tracker, key)
        self._publish(tracker.sender_id, stored)
        logger.debug("Stored %d event(s) of conversation %s", len(stored), key)

    def _store(self, tracker: DialogueStateTracker, key: str) -> list[dict[str, Any]]:
        if self._write_turn is None:
            return self._store_events(tracker, key)
        with self._write_turn:
            return self._store_events(tracker, key)

    def _store_events(self, tracker: DialogueStateTracker, key: str) -> list[dict[str, Any]]:
        with self.session_scope() as session:
            new_events = self._unstored_events(session, tracker, key)
            if any(
                isinstance(event, ActionExecuted) and event.action_name == retention.ERASE_ACTION
                for event in new_events
            ):
                # The person confirmed "delete my conversation": nothing of it is kept, this
                # turn included (its reply has been sent).
                retention.erase_conversation(
                    session, key, actor="the person", via=tracker.get_latest_input_channel() or "?"
                )
                session.commit()
                return []
            rows = []
            for tracker_event in new_events:
                data = mask_event(tracker_event.as_dict())
                row = self.SQLEvent(
                    sender_id=key,
                    type_name=tracker_event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=(data.get("parse_data") or {})
                    .get("intent", {})
                    .get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                )
                session.add(row)
                rows.append((row, data))
            session.flush()
            index_events(session, key, [(row.id, data) for row, data in rows])
            session.commit()
        return [data for _row, data in rows]

    def _unstored_events(
        self, session: Session, tracker: DialogueStateTracker, key: str
    ) -> list[Event]:
        """The tracker's events not stored yet (Rasa's `_additional_events`). When none of the
        conversation is stored, it is new, or it was erased while this turn was being answered
        (by a trainer, or a command): then the events from before the erasure are not stored
        again, or an erasure would be undone by the next save."""
        stored = self._event_query(session, tracker.sender_id, False).count()
        events = list(itertools.islice(tracker.events, stored, None))
        if stored == 0:
            erased = retention.erased_at(session, key)
            if erased is not None:
                events = [e for e in events if (e.timestamp or 0) > erased]
        return events

    # --- forgetting ---------------------------------------------------------------------

    async def has_conversation(self, sender_id: str) -> bool:
        """Whether anything of `sender_id`'s conversation is stored (a cheap check)."""
        return await self._off_loop(self._has_events, self.pseudonym(sender_id))

    def _has_events(self, key: str) -> bool:
        with self.session_scope() as session:
            found = session.execute(select(EVENTS.c.id).where(EVENTS.c.sender_id == key).limit(1))
            return found.first() is not None

    async def erase(self, sender_id: str, *, actor: str, via: str) -> Removed:
        """Erase `sender_id`'s conversation now, and record who asked (bot.tracking.retention).
        Hold the conversation's lock meanwhile, or a turn being answered could store it again."""
        return await self._off_loop(self._erase, self.pseudonym(sender_id), actor, via)

    def _erase(self, key: str, actor: str, via: str) -> Removed:
        with self._write_turn or nullcontext(), retention.writing(self.engine) as session:
            return retention.erase_conversation(session, key, actor=actor, via=via)

    def purge(self) -> Removed | None:
        """Delete the conversations past the retention period (LOG_RETENTION_DAYS), in
        batches that take turns with this process's saves."""
        privacy = get_settings().privacy
        return retention.purge(
            self.engine,
            timedelta(days=privacy.retention_days),
            audit_older_than=timedelta(days=privacy.audit_retention_days),
            batch=privacy.purge_batch,
            turn=self._write_turn,
            pause=PURGE_PAUSE,
        )

    async def purge_periodically(self, every: float) -> None:
        """Purge now, then every `every` seconds, until cancelled (the Rasa server's task, see
        bot.rasa_compat). A failed purge is logged and tried again at the next interval."""
        while True:
            try:
                await asyncio.to_thread(self.purge)
            except Exception:
                logger.exception("Purging the conversation log failed; trying again later")
            await asyncio.sleep(every)
