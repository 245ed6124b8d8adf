"""Many conversations at once, each a thread sending its messages one after the other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.support.http import Reply, say

# Ten different questions (no digits or names: the tracker store masks those), so a
# conversation's log can be compared with what was sent, in order.
MESSAGES = [
    "hello",
    "what does an assistant practitioner do?",
    "how do they get accredited?",
    "and for imaging support workers?",
    "how would they apply?",
    "what are the entry requirements for a radiography assistant",
    "how much do they earn?",
    "what training do imaging support workers get?",
    "what can you do?",
    "thanks, bye",
]


@dataclass
class Sent:
    sender: str
    replies: list[tuple[str, Reply]] = field(default_factory=list)

    @property
    def answered(self) -> list[str]:
        return [message for message, reply in self.replies if reply.answered]

    @property
    def failed(self) -> list[str]:
        return [message for message, reply in self.replies if not reply.answered]


@dataclass
class Run:
    conversations: list[Sent]
    seconds: float

    @property
    def replies(self) -> list[Reply]:
        return [reply for sent in self.conversations for _, reply in sent.replies]


def converse(
    base_url: str,
    senders: list[str],
    messages: list[str] = MESSAGES,
    on_reply: Callable[[], None] | None = None,
    timeout: float = 120,
) -> Run:
    """Every sender sends every message in turn; all senders at once (one thread each)."""
    lock = threading.Lock()

    def one(sender: str) -> Sent:
        sent = Sent(sender)
        for message in messages:
            reply = say(base_url, sender, message, timeout=timeout)
            with lock:
                sent.replies.append((message, reply))
                if on_reply is not None:
                    on_reply()
        return sent

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        conversations = list(pool.map(one, senders))
    return Run(conversations, time.perf_counter() - start)
