"""The conversation log: Rasa's SQL tracker store, with personal data masked before storing.

Rasa loads it from the endpoints file (`tracker_store: type: bot.tracking.store.
MaskingTrackerStore`, which bot.serve writes). The database URL comes from the settings
(TRACKER_STORE_URL, by default var/conversations.db), so no password is written to disk.

On every save, the new events are masked (bot.tracking.masking), inserted under the sender's
pseudonym (bot.tracking.identity), and folded into the index rows the review console reads,
all in one transaction; then the same masked events are published, under the pseudonym, to
the event broker if one is configured. The raw sender id is only in the tracker Rasa holds in
memory (to reply), never in a row, a broker message, a log line or an SQL error.

Each conversation's tracker is kept in memory between its messages (TRACKER_CACHE_SIZE of
them, the least recently used dropped first), so a message reads only the events stored since
its previous one, not the whole conversation: the log's count and last id for the sender (one
indexed query) say whether another instance added any, and an erasure or purge since makes
the tracker be read again. The lock store makes one instance at a time handle a conversation.

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
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    SerializedTrackerAsText,
    SQLTrackerStore,
    TrackerEventDiffEngine,
    TrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import func, select
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
# A cached tracker not used for this long is dropped (at the next save): Rasa's session
# expiry, after which the next message reads its session back anyway. This also bounds how long
# a conversation erased by another process stays in this instance's memory.
CACHE_IDLE_SECONDS = 3600.0


@dataclass(frozen=True)
class Stamp:
    """What the log held of one conversation when its tracker was cached: its rows, the
    highest of their ids, and when it was last erased. Any other value means it changed."""

    count: int
    last_id: int
    erased: float | None


@dataclass
class Cached:
    """A conversation's tracker, as saved, and the log's stamp for it then."""

    tracker: DialogueStateTracker
    stamp: Stamp
    length: int  # len(tracker.events) when saved: a tracker changed since is not reused
    saved_at: float  # time.monotonic()


def create_tables(engine: Any) -> None:
    """Bring the log's database to the latest schema (bot.migrations): Rasa's events table,
    the index tables and the console's. Processes starting together take turns."""
    migrations.upgrade(engine)


def sqlite_pragmas(engine: Any) -> None:
    """Kept for callers written before bot.db: `make_engine` sets the SQLite pragmas itself."""


def innermost_store(store: TrackerStore) -> TrackerStore:
    """The store inside Rasa's wrappers (FailSafeTrackerStore, AwaitableTrackerStore), read
    from their private `_tracker_store` (their __init__ is fingerprinted in bot.rasa_compat)."""
    while isinstance(store, FailSafeTrackerStore | AwaitableTrackerStore):
        store = store._tracker_store
    return store


class MaskingTrackerStore(TrackerStore, SerializedTrackerAsText):
    """A tracker store in Rasa's events table (SQLTrackerStore's rows) that masks personal
    data, pseudonymises senders, keeps the index, and forgets conversations: after the
    retention period, and on a person's request.

    Built on Rasa's public tracker store interface (`TrackerStore`: save, retrieve,
    retrieve_full_tracker, keys), not on SQLTrackerStore's private methods: every method here
    is this project's own, so a Rasa release that changes SQLTrackerStore's insides changes
    nothing here. What it shares with SQLTrackerStore is the table (`SQLEvent`)."""

    SQLEvent = SQLTrackerStore.SQLEvent

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: Any = None,
        url: str | None = None,
        sender_id_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Its own engine, not SQLTrackerStore's: that has no pre-ping (the first message after
        # a database restart failed), and it retries a database that is down forever.
        url = url or host or get_settings().tracker_store_url
        self.engine = make_engine(url, **create_engine_kwargs(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        self._key = sender_id_key or get_settings().sender_id_secret()
        # SQLite lets one writer in at a time; another waits in its busy handler, which
        # sleeps 1, 2, 5, 10 ... 100 ms between tries. This process's saves take turns here
        # instead (a handover is immediate): with 8 conversations at once, those sleeps were
        # most of the p95 latency. A server database takes concurrent writers as they come.
        self._write_turn = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        self._cache: OrderedDict[str, Cached] = OrderedDict()
        self._cache_size = get_settings().serving.tracker_cache_size
        create_tables(self.engine)
        super().__init__(domain, event_broker, **kwargs)

    def pseudonym(self, sender_id: str) -> str:
        return pseudonym(sender_id, self._key)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A database session, closed after use (what SQLTrackerStore's of the same name
        gives, without its check for a PostgreSQL schema this project does not use)."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()

    async def keys(self) -> Iterable[str]:
        """The conversations stored, by pseudonym (as the table holds them)."""
        return await self._off_loop(self._keys)

    def _keys(self) -> list[str]:
        with self.session_scope() as session:
            return list(session.scalars(select(EVENTS.c.sender_id).distinct()))

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the conversation's latest session."""
        return await self._tracker(sender_id, fetch_events_from_all_sessions=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """The tracker of every session of the conversation."""
        return await self._tracker(conversation_id, fetch_events_from_all_sessions=True)

    def _events_query(
        self, session: Session, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Any:
        """The query for a sender's events, by pseudonym (retrieve and save both use it):
        SQLTrackerStore's rows, with the latest session's start looked up first, as a value.

        Rasa's query joins its rows with a subquery for that start, and PostgreSQL, before it
        has statistics for the table, plans it as a nested loop that runs the subquery again
        for every row of the conversation: 140 ms for the save of the 300th message of a fresh
        log, 1 ms for the 15th. The rows are the same (events from the session's start on)."""
        key = self.pseudonym(sender_id)
        event = self.SQLEvent
        query = session.query(event).filter(event.sender_id == key)
        if not fetch_events_from_all_sessions:
            start = (
                session.query(func.max(event.timestamp))
                .filter(event.sender_id == key, event.type_name == SessionStarted.type_name)
                .scalar()
            )
            if start is not None:
                query = query.filter(event.timestamp >= start)
        return query.order_by(event.id)

    async def _tracker(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """The stored events, as a tracker that keeps the raw `sender_id` (in memory only).

        The latest session's tracker comes from the cache when the log still holds what was
        cached, with any events stored since (by another instance) applied. It is taken out
        of the cache meanwhile: only a save puts it back, so a turn that fails half-way, or a
        second reader, never gets a tracker the log does not match."""
        if fetch_events_from_all_sessions:
            events = await self._off_loop(self._stored_events, sender_id, True)
            if not events:
                return None
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        cached = self._cache.pop(sender_id, None)
        if cached is not None and len(cached.tracker.events) == cached.length:
            newer = await self._off_loop(self._events_since, sender_id, cached.stamp)
            if newer is not None:
                tracker = cached.tracker
                for event in deserialise_events(newer):
                    tracker.update(event)
                return tracker
        events = await self._off_loop(self._stored_events, sender_id, False)
        if not events:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _stored_events(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> list[dict[str, Any]]:
        with self.session_scope() as session:
            rows = self._events_query(session, sender_id, fetch_events_from_all_sessions).all()
            return [json.loads(row.data) for row in rows]

    def _stamp(self, session: Session, key: str) -> Stamp:
        count, last_id = session.execute(
            select(func.count(EVENTS.c.id), func.max(EVENTS.c.id)).where(EVENTS.c.sender_id == key)
        ).one()
        return Stamp(count, last_id or 0, retention.erased_at(session, key))

    def _events_since(self, sender_id: str, stamp: Stamp) -> list[dict[str, Any]] | None:
        """The events stored after `stamp` (none: the cached tracker is current), or None
        when the log changed otherwise (an erasure, a purge, a new session) and the tracker
        must be read again."""
        key = self.pseudonym(sender_id)
        with self.session_scope() as session:
            now = self._stamp(session, key)
            if now == stamp:
                return []
            if now.erased != stamp.erased or now.last_id < stamp.last_id:
                return None
            rows = session.execute(
                select(EVENTS.c.type_name, EVENTS.c.data)
                .where(EVENTS.c.sender_id == key, EVENTS.c.id > stamp.last_id)
                .order_by(EVENTS.c.id)
            ).all()
            if now.count - len(rows) != stamp.count or any(
                row.type_name == SessionStarted.type_name for row in rows
            ):
                return None
            return [json.loads(row.data) for row in rows]

    def _keep(
        self, tracker: DialogueStateTracker, stamp: Stamp | None, stored: list[dict[str, Any]]
    ) -> None:
        """Cache `tracker`, just saved with `stamp` (None, or no room: forget it instead).

        Its new events are replaced by the masked ones just stored, and applied again, so the
        tracker is the one the log would give back (what stock Rasa reads next turn): no
        personal data stays in memory past its turn, and every instance sees the same."""
        self._cache.pop(tracker.sender_id, None)
        if stamp is None or self._cache_size == 0:
            return
        for _ in stored:
            tracker.events.pop()
        for event in deserialise_events(stored):
            tracker.update(event)
        now = time.monotonic()
        self._cache[tracker.sender_id] = Cached(tracker, stamp, len(tracker.events), now)
        # Least recently saved first: drop the idle ones and those beyond the size.
        while len(self._cache) > self._cache_size or (
            now - next(iter(self._cache.values())).saved_at > CACHE_IDLE_SECONDS
        ):
            self._cache.popitem(last=False)

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
        stored, stamp = await self._off_loop(self._store, tracker, key)
        self._keep(tracker, stamp, stored)
        self._publish(tracker.sender_id, stored)
        logger.debug("Stored %d event(s) of conversation %s", len(stored), key)

    def _store(
        self, tracker: DialogueStateTracker, key: str
    ) -> tuple[list[dict[str, Any]], Stamp | None]:
        if self._write_turn is None:
            return self._store_events(tracker, key)
        with self._write_turn:
            return self._store_events(tracker, key)

    def _store_events(
        self, tracker: DialogueStateTracker, key: str
    ) -> tuple[list[dict[str, Any]], Stamp | None]:
        """The events stored, and the stamp to cache the tracker with (None: not cached, as
        after an erasure, or when a new session starts: the log reads back only that one)."""
        with self.session_scope() as session:
            new_events, whole = self._unstored_events(session, tracker, key)
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
                return [], None
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
            new_session = any(isinstance(event, SessionStarted) for event in new_events)
            stamp = self._stamp(session, key) if whole and not new_session else None
            session.commit()
        return [data for _row, data in rows], stamp

    def _unstored_events(
        self, session: Session, tracker: DialogueStateTracker, key: str
    ) -> tuple[list[Event], bool]:
        """The tracker's events not stored yet (Rasa's `_additional_events`), and whether they
        are all its events after those stored. When none of the conversation is stored, it is
        new, or it was erased while this turn was being answered (by a trainer, or a command):
        then the events from before the erasure are not stored again, or an erasure would be
        undone by the next save."""
        stored = self._events_query(session, tracker.sender_id, False).count()
        events = list(itertools.islice(tracker.events, stored, None))
        if stored == 0:
            erased = retention.erased_at(session, key)
            if erased is not None:
                kept = [e for e in events if (e.timestamp or 0) > erased]
                return kept, len(kept) == len(events)
        return events, True

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
        self._cache.pop(sender_id, None)
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
