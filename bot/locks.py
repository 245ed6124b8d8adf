"""Rasa's lock store on Redis, asynchronous and atomic, its address from the settings.

Several Rasa instances share one conversation log; the lock makes sure two messages of one
conversation are never handled at the same time by two instances (the second waits). Rasa
loads it from the endpoints file that bot.prod writes (`lock_store: type: bot.locks.
RedisLockStore`); the URL (LOCK_STORE_URL), which may hold a password, stays in the
environment.

What stock Rasa 3.6's RedisLockStore gets wrong, and how this one differs:

- It calls Redis synchronously, on the event loop: every message's several round trips stop
  every other conversation of the instance, for as long as Redis takes to answer. Here every
  call goes through `redis.asyncio`.
- It takes a ticket with a GET and then a SET: two instances taking a ticket for the same
  conversation at the same moment (a double click, a retry) both get the same number, handle
  the two messages at once, and the second save stores the wrong slice of events. (An earlier
  version of this module put a redis-py lock around each update; that lock waits with
  `time.sleep`, blocking the event loop too.) Here a ticket is an INCR, atomic in Redis.
- It waits for "now serving" to be its own ticket. When its own ticket expires while it
  waits, at the same moment as the ticket of a request that died in flight (an instance
  killed, as in tests/scale/test_failover.py), that never happens and the message waits
  forever. Here a message goes ahead as soon as no live ticket before its own is left, and
  takes its ticket back if it had expired, so later messages still wait for it.

Each step that reads and then writes (take a ticket, check the line, give the ticket back) is
one Lua script, which Redis runs atomically, with Redis's own clock: instances whose clocks
differ still agree on which tickets have expired. Keys are named by the conversation's
pseudonym (bot.tracking.identity), never by its sender id (a phone number, for SMS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

from bot.settings import get_settings
from bot.tracking.identity import pseudonym

logger = logging.getLogger(__name__)

TYPE = f"{__name__}.RedisLockStore"
KEY_PREFIX = "careers:lock:"
# A Redis that hangs must not hang a conversation for long (stock: 10 s). Calls take < 1 ms.
SOCKET_TIMEOUT = 2.0

# Redis's clock, in milliseconds.
_NOW = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"""

# KEYS: counter, tickets (a hash: ticket number -> expiry in ms). ARGV: lifetime in ms.
# A new ticket number and its expiry; both keys vanish when the conversation is idle.
_ISSUE = (
    _NOW
    + """
local lifetime = tonumber(ARGV[1])
local ticket = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ticket, now + lifetime)
redis.call('PEXPIRE', KEYS[1], 2 * lifetime)
redis.call('PEXPIRE', KEYS[2], 2 * lifetime)
return ticket
"""
)

# KEYS: counter, tickets. ARGV: our ticket, lifetime in ms.
# 1 when no live ticket before ours is left (ours taken back, fresh, if it had expired);
# otherwise 0. Expired tickets are dropped on the way.
_ACQUIRE = (
    _NOW
    + """
local mine = tonumber(ARGV[1])
local lifetime = tonumber(ARGV[2])
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  local ticket = tonumber(entries[i])
  if tonumber(entries[i + 1]) <= now then
    redis.call('HDEL', KEYS[2], entries[i])
  elseif ticket < mine then
    return 0
  end
end
if redis.call('HEXISTS', KEYS[2], mine) == 0 then
  redis.call('HSET', KEYS[2], mine, now + lifetime)
end
redis.call('PEXPIRE', KEYS[1], 2 * lifetime)
redis.call('PEXPIRE', KEYS[2], 2 * lifetime)
return 1
"""
)

# KEYS: counter, tickets. ARGV: our ticket. Gives it back; the last one out deletes both keys.
_RELEASE = """
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
end
return 1
"""


class RedisLockStore(LockStore):
    """A ticket lock per conversation in Redis (any redis:// or rediss:// URL)."""

    def __init__(
        self, endpoint_config: Any = None, url: str | None = None, **_ignored: Any
    ) -> None:
        url = url or get_settings().serving.lock_store_url
        if not url:
            raise ValueError("LOCK_STORE_URL is not set (e.g. redis://127.0.0.1:6379/1)")
        super().__init__()
        # Builds a client object only: it connects on first use, on the caller's event loop.
        self.red = redis.asyncio.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
        self._issue = self.red.register_script(_ISSUE)
        self._acquire = self.red.register_script(_ACQUIRE)
        self._release = self.red.register_script(_RELEASE)

    def keys(self, conversation_id: str) -> list[str]:
        """The conversation's ticket counter and its live tickets."""
        name = f"{KEY_PREFIX}{pseudonym(conversation_id)}"
        return [f"{name}:next", f"{name}:tickets"]

    async def take_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A ticket number no other message of the conversation has, live for the lifetime."""
        try:
            return int(await self._run(self._issue, conversation_id, _ms(lock_lifetime)))
        except redis.RedisError as error:
            raise LockError(f"Could not take a ticket: {error}") from error

    async def tickets(self, conversation_id: str) -> dict[int, float]:
        """The conversation's tickets and when each expires (seconds since the epoch)."""
        stored = await self.red.hgetall(self.keys(conversation_id)[1])
        return {int(ticket): int(expiry) / 1000 for ticket, expiry in stored.items()}

    async def give_back(self, conversation_id: str, ticket: int) -> None:
        await self._run(self._release, conversation_id, ticket)

    async def _run(self, script: Any, conversation_id: str, *arguments: int) -> Any:
        """Run one of the scripts; on a connection Redis had closed, once more on a new one.

        After a Redis restart every pooled connection is closed, and redis-py's asyncio pool
        hands them out anyway (it does not notice a closed socket): the first messages would
        fail. Such a command never reached Redis, so trying again cannot take a ticket twice
        (a connection lost between Redis running the script and its answer could: that ticket
        expires after its lifetime).
        """
        keys = self.keys(conversation_id)
        try:
            return await script(keys, list(arguments))
        except redis.ConnectionError:
            await self.red.connection_pool.disconnect(inuse_connections=False)
            return await script(keys, list(arguments))

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Hold the conversation's lock for the block: wait (without blocking the event
        loop) until no live ticket taken before ours is left."""
        ticket = await self.take_ticket(conversation_id, lock_lifetime)
        try:
            await self._wait_for_turn(conversation_id, ticket, lock_lifetime, wait_time_in_seconds)
            expires = time.time() + lock_lifetime
            yield TicketLock(conversation_id, deque([Ticket(ticket, expires)]))
        finally:
            try:
                await self.give_back(conversation_id, ticket)
            except redis.RedisError as error:  # it expires by itself
                logger.warning("Could not give a conversation's ticket back: %s", error)

    async def _wait_for_turn(
        self, conversation_id: str, ticket: int, lifetime: float, wait: float
    ) -> None:
        try:
            while not await self._run(self._acquire, conversation_id, ticket, _ms(lifetime)):
                await asyncio.sleep(wait)
        except redis.RedisError as error:
            raise LockError(f"Could not acquire the lock: {error}") from error


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
