"""The conversation log: Rasa's SQL tracker store, with personal data masked before storing.

Rasa loads it from the endpoints file (`tracker_store: type: bot.tracking.store.
MaskingTrackerStore`, which bot.serve writes). The database URL comes from the settings
(TRACKER_STORE_URL, by default var/conversations.db), so no password is written to disk.

On every save, the new events are masked (bot.tracking.masking), inserted, and folded into
the index rows the review console reads, all in one transaction.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from bot.settings import get_settings
from bot.tracking import models
from bot.tracking.indexer import index_events
from bot.tracking.masking import mask_event

logger = logging.getLogger(__name__)

EVENTS = SQLTrackerStore.SQLEvent.__table__


def create_tables(engine: Any) -> None:
    """Rasa's events table and the index tables (idempotent).

    The Rasa server and the console may both start on a new database; if the other process
    created a table between our check and our CREATE, the second attempt finds it there.
    """
    for attempt in range(2):
        try:
            SQLTrackerStore.Base.metadata.create_all(engine)
            models.Base.metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt:
                raise


def sqlite_pragmas(engine: Any) -> None:
    """Let the Rasa server and the console share a SQLite file: WAL and a busy timeout."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


class MaskingTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that masks personal data and keeps the review index up to date."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        event_broker: Any = None,
        url: str | None = None,
        **kwargs: Any,
    ) -> None:
        url = url or host or get_settings().tracker_store_url
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        sqlite_pragmas(self.engine)
        self.engine.dispose()  # reconnect, so every pooled connection gets the pragmas
        create_tables(self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Insert the tracker's new events, masked, and index them, in one transaction."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for tracker_event in self._additional_events(session, tracker):
                data = mask_event(tracker_event.as_dict())
                row = self.SQLEvent(
                    sender_id=tracker.sender_id,
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
            index_events(session, tracker.sender_id, [(row.id, data) for row, data in rows])
            session.commit()
        logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)
