"""Rasa's Redis lock store, its address read from the settings (LOCK_STORE_URL).

Several Rasa instances share one conversation log; the lock makes sure two messages of one
conversation are never handled at the same time by two instances (the second waits). Rasa
loads it from the endpoints file that bot.prod writes (`lock_store: type: bot.locks.
RedisLockStore`); the URL, which may hold a password, stays in the environment.

Stock Rasa 3.6 updates a conversation's ticket lock with a GET and then a SET: two instances
taking a ticket for the same conversation at the same moment (a double click, a retry) can
both get the same number and handle the two messages at once, and the second save then stores
the wrong slice of events. Here every read-modify-write of a lock holds a short Redis mutex.

And stock Rasa waits for "now serving" to be its own ticket. When its own ticket expires while
it waits, at the same moment as the ticket of a request that died in flight (an instance
killed, as in tests/scale/test_failover.py), "now serving" is never its ticket again and the
message waits forever. Here a message goes ahead as soon as no live ticket before its own is
left, and takes its ticket back if it had expired, so later messages still wait for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME
from rasa.core.lock_store import RedisLockStore as StockRedisLockStore

from bot.settings import get_settings

TYPE = f"{__name__}.RedisLockStore"
KEY_PREFIX = "careers"
# Rasa calls Redis synchronously, on the event loop: a Redis that hangs must not hang every
# conversation of the instance for long (stock: 10 s). Lock calls take well under 1 ms.
SOCKET_TIMEOUT = 2.0
# The mutex around one lock update: held for a few Redis round trips, expires if its holder
# dies holding it.
MUTEX_TIMEOUT = 5.0


class RedisLockStore(StockRedisLockStore):
    """Rasa's RedisLockStore, connected with `redis.Redis.from_url` (any redis:// URL)."""

    def __init__(
        self, endpoint_config: Any = None, url: str | None = None, **_ignored: Any
    ) -> None:
        url = url or get_settings().serving.lock_store_url
        if not url:
            raise ValueError("LOCK_STORE_URL is not set (e.g. redis://127.0.0.1:6379/1)")
        # The stock constructor only builds a client object (it connects on first use).
        super().__init__(key_prefix=KEY_PREFIX)
        self.red = redis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
        )

    @contextmanager
    def _mutex(self, conversation_id: str) -> Iterator[None]:
        with self.red.lock(
            f"{self.key_prefix}{conversation_id}:mutex",
            timeout=MUTEX_TIMEOUT,
            blocking_timeout=MUTEX_TIMEOUT,
        ):
            yield

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        """Wait until no live ticket before `ticket` is left; then hold a live `ticket`."""
        while True:
            with self._mutex(conversation_id):
                lock = self.get_lock(conversation_id) or self.create_lock(conversation_id)
                lock.remove_expired_tickets()
                if not any(other.number < ticket for other in lock.tickets):
                    if all(other.number != ticket for other in lock.tickets):
                        # Ours expired while waiting: take it back, first in line.
                        lock.tickets.appendleft(Ticket(ticket, time.time() + LOCK_LIFETIME))
                    self.save_lock(lock)
                    return lock
                self.save_lock(lock)
            await asyncio.sleep(wait_time_in_seconds)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back and delete the lock if nobody waits, as one step."""
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
