"""Refusing replays: a provider's message id seen before is acknowledged, not answered twice.

A signed request stays valid when it is sent again (by the provider retrying, or by someone who
captured it): Twilio's signature has no timestamp, Telegram's secret token is the same on every
update, and Slack's timestamp allows five minutes. Each channel names the id its provider gives
every message (Twilio's MessageSid, Slack's event_id, Telegram's update_id); a second request
with the same id gets the usual acknowledgement, and the assistant does not see it.

The ids seen are kept in memory, for a day and at most MAX_IDS of them (the oldest are
forgotten first), which is right for one Rasa instance. Several instances behind a load
balancer would each see a different part of the traffic, and would need this set in a shared
store (Redis, with SET NX EX) instead.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_TTL_SECONDS = 24 * 60 * 60
MAX_IDS = 100_000


class SeenIds:
    """Ids seen within the last `ttl` seconds, at most `max_ids` of them."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_ids: int = MAX_IDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_ids = max_ids
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> when, oldest first

    def first_time(self, message_id: str) -> bool:
        """True the first time `message_id` is given (within the TTL), False after that."""
        now = self.clock()
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl and len(self._seen) < self.max_ids:
                break
            del self._seen[oldest]
        if message_id in self._seen:
            return False
        self._seen[message_id] = now
        return True

    def __len__(self) -> int:
        return len(self._seen)
