"""Reading what the assistant left behind: the conversation log, as Rasa saved it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from bot.db import make_engine
from bot.tracking.identity import pseudonym
from tests.support.servers import wait_for


class ConversationLog:
    """What the tracker store kept: Rasa's events table and the review index, read with plain
    SQL. Conversations are looked up by their id's pseudonym, the only form the log keeps."""

    def __init__(self, url: str, sender_id_key: str) -> None:
        self.engine = make_engine(url)
        self.key = sender_id_key

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
                {"sender": pseudonym(sender_id, self.key)},
            )
            return [json.loads(row[0]) for row in rows]

    def saved_events(
        self, sender_id: str, timeout: float = 15, user_messages: int = 1
    ) -> list[dict[str, Any]]:
        """The conversation's events once Rasa has saved the turn of its `user_messages`-th
        message: it saves after sending the replies, so a test that has just read a reply
        waits for the save (the turn ends with the assistant listening again) rather than
        racing it."""

        def saved() -> list[dict[str, Any]]:
            events = self.events(sender_id)
            last = events[-1] if events else {}
            ended = last.get("event") == "action" and last.get("name") == "action_listen"
            users = sum(1 for e in events if e.get("event") == "user")
            return events if ended and users >= user_messages else []

        return wait_for(saved, timeout, f"the conversation {sender_id!r} saved")

    def user_messages(
        self, sender_id: str, at_least: int = 0, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        """The sender's user events, once at least `at_least` of them are saved."""

        def found() -> list[dict[str, Any]] | None:
            users = [e for e in self.events(sender_id) if e.get("event") == "user"]
            return users if len(users) >= at_least else None

        return wait_for(found, timeout, f"{at_least} user message(s) of {sender_id!r} saved")

    def channel(self, sender_id: str) -> str | None:
        """The channel the review index records for the conversation."""
        with self.engine.connect() as connection:
            return connection.execute(
                text("SELECT channel FROM log_conversations WHERE sender_id = :sender"),
                {"sender": pseudonym(sender_id, self.key)},
            ).scalar()
