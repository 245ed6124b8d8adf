"""A part goes down and comes back: the user gets an apology meanwhile, service resumes
without a restart, and what was stored before is still there, unchanged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest

from bot.channels.replies import APOLOGY
from bot.prod.cluster import Cluster
from bot.prod.processes import Service
from tests.support.cluster import check_well_formed, engine, stored_events, user_texts, whole_again
from tests.support.http import Reply, say
from tests.support.servers import wait_for
from tests.support.sockets import Client

FIRST = "what does an assistant practitioner do?"
SECOND = "how do they get accredited?"
RESUME_TIMEOUT = 90


def until_answered(ask: Callable[[], Reply], timeout: float = RESUME_TIMEOUT) -> Reply:
    """Ask again (bounded) until answered: the first tries after a restart may still fail."""
    replies: list[Reply] = []

    def answered() -> Reply | None:
        replies.append(ask())
        return replies[-1] if replies[-1].answered else None

    try:
        return wait_for(answered, timeout, "an answer after the restart", every=1)
    except TimeoutError:
        return replies[-1]


def parts(cluster: Cluster, name: str) -> list[Service]:
    if name == "actions":
        return cluster.actions
    if name == "postgres":
        assert cluster.postgres is not None
        return [cluster.postgres.service]
    assert cluster.redis is not None
    return [cluster.redis]


@pytest.mark.parametrize(
    ("part", "status_while_down"),
    [
        # A failed custom action is an apology in the conversation (bot/rasa_compat.py).
        ("actions", 200),
        # No conversation log or no lock: the message is not handled; 503 and the apology.
        ("postgres", 503),
        ("redis", 503),
    ],
)
def test_a_part_down_then_back(cluster: Cluster, part: str, status_while_down: int) -> None:
    sender = f"outage-{part}-{uuid.uuid4().hex[:8]}"
    url = cluster.public_url
    first = say(url, sender, FIRST)
    assert first.text.startswith("What assistant practitioners do:")
    db = engine(cluster)
    before = stored_events(db, sender)

    try:
        for service in parts(cluster, part):
            service.stop()
        down = [say(url, sender, SECOND) for _ in range(3)]
    finally:
        for service in parts(cluster, part):
            service.start()

    try:
        for reply in down:
            assert reply.status == status_while_down, reply
            assert reply.texts == [APOLOGY]
        # Back, without restarting anything else; the conversation's context was kept.
        back = until_answered(lambda: say(url, sender, SECOND))
        assert back.text.startswith("Accreditation for assistant practitioners:"), back
        after = stored_events(db, sender)
        assert after[: len(before)] == before
        if status_while_down == 503:  # not handled, so not stored
            assert user_texts(after) == [FIRST, SECOND]
        else:  # handled, apology included; maybe a retry or two while nginx saw it down
            texts = user_texts(after)
            assert texts[0] == FIRST and set(texts[1:]) == {SECOND} and len(texts) >= 5
        check_well_formed(after)
    finally:
        whole_again(cluster)


async def ask_once(client: Client, message: str) -> str:
    """Send a message on socket.io; the text of the one reply it gets."""
    await client.sio.emit("user_uttered", {"message": message, "session_id": client.session_id})
    reply = await asyncio.wait_for(client.replies.get(), 60)
    return str(reply.get("text", ""))


def test_the_widget_hears_the_apology_while_redis_is_down(cluster: Cluster) -> None:
    """socket.io (the chat widget) through nginx: stock Rasa would say nothing at all."""
    assert cluster.redis is not None
    redis = cluster.redis

    async def chat() -> tuple[str, str]:
        client = Client()
        await client.start(cluster.public_url)
        try:
            redis.stop()
            try:
                down = await ask_once(client, FIRST)
            finally:
                redis.start()
            back = ""
            for _ in range(10):  # the first try after the restart may meet a stale connection
                back = await ask_once(client, FIRST)
                if back != APOLOGY:
                    break
            return down, back
        finally:
            await client.stop()

    try:
        down, back = asyncio.run(chat())
    finally:
        whole_again(cluster)
    assert down == APOLOGY
    assert back.startswith("What assistant practitioners do:")
