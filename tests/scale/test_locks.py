"""The Redis lock store against a real Redis: one ticket number per message, even when
instances take tickets for one conversation at the same moment."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.lock_store import LockStore
from rasa.core.lock_store import RedisLockStore as StockRedisLockStore

from bot.locks import RedisLockStore
from bot.prod.processes import redis_service, redis_url
from tests.servers import free_port


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    service = redis_service(directory, port, directory)
    service.start()
    try:
        yield redis_url(port)
    finally:
        service.stop()


def take_tickets_at_once(stores: list[LockStore], conversation: str) -> list[int]:
    """8 threads, as 8 requests on two instances, each taking 25 tickets for one conversation."""
    tickets: list[int] = []
    start = threading.Barrier(8)

    def take(store: LockStore) -> None:
        start.wait(timeout=30)
        for _ in range(25):
            tickets.append(store.issue_ticket(conversation, 60))

    threads = [threading.Thread(target=take, args=(stores[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return tickets


def test_tickets_taken_at_once_by_two_instances_are_all_different(redis: str) -> None:
    stores: list[LockStore] = [RedisLockStore(url=redis), RedisLockStore(url=redis)]
    tickets = take_tickets_at_once(stores, "same-conversation")
    assert sorted(tickets) == list(range(200))


def test_stock_rasa_hands_out_one_ticket_number_twice(redis: str) -> None:
    """Why bot.locks adds a mutex. If this starts failing, Rasa fixed it: drop the mutex."""
    host, port = redis.removeprefix("redis://").split("/")[0].split(":")
    stores: list[LockStore] = [StockRedisLockStore(host, int(port)) for _ in range(2)]
    tickets = take_tickets_at_once(stores, "stock-conversation")
    assert len(set(tickets)) < len(tickets)


async def test_the_lock_is_given_back(redis: str, tmp_path: Path) -> None:
    store = RedisLockStore(url=redis)
    async with store.lock("given-back"):
        assert store.get_lock("given-back") is not None
    assert store.get_lock("given-back") is None


def test_the_url_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch, redis: str) -> None:
    from bot.settings import get_settings

    monkeypatch.setenv("LOCK_STORE_URL", redis)
    get_settings.cache_clear()
    try:
        store = RedisLockStore(endpoint_config=None)
        assert store.red.ping()
    finally:
        get_settings.cache_clear()


async def behind_a_dead_ticket(store: LockStore, conversation: str) -> None:
    """A request died holding a ticket (never given back); the next message must still go."""
    store.issue_ticket(conversation, 0.5)
    async with store.lock(conversation, lock_lifetime=0.5, wait_time_in_seconds=0.1):
        pass


async def test_a_message_behind_a_dead_ticket_goes_ahead_when_it_expires(redis: str) -> None:
    await asyncio.wait_for(behind_a_dead_ticket(RedisLockStore(url=redis), "dead-ticket"), 10)


async def test_stock_rasa_waits_forever_behind_a_dead_ticket(redis: str) -> None:
    """Why bot.locks waits differently. If this starts failing, Rasa fixed it."""
    host, port = redis.removeprefix("redis://").split("/")[0].split(":")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(
            behind_a_dead_ticket(StockRedisLockStore(host, int(port)), "stock-dead-ticket"), 5
        )


async def test_the_second_message_waits_for_the_first(redis: str) -> None:
    first_store, second_store = RedisLockStore(url=redis), RedisLockStore(url=redis)
    order: list[str] = []

    async def handle(store: LockStore, name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with store.lock("in-order", wait_time_in_seconds=0.05):
            order.append(f"{name} starts")
            await asyncio.sleep(0.3)
            order.append(f"{name} ends")

    await asyncio.wait_for(
        asyncio.gather(handle(first_store, "first", 0), handle(second_store, "second", 0.1)), 10
    )
    assert order == ["first starts", "first ends", "second starts", "second ends"]
