"""The Redis lock store against a real Redis: one ticket number per message, even when
instances take tickets for one conversation at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def test_tickets_taken_at_once_by_two_instances_are_all_different(redis: str) -> None:
    stores = [RedisLockStore(url=redis), RedisLockStore(url=redis)]
    tickets: list[int] = []
    start = threading.Barrier(8)

    def take(store: RedisLockStore) -> None:
        start.wait(timeout=30)
        for _ in range(25):
            tickets.append(store.issue_ticket("same-conversation", 60))

    threads = [threading.Thread(target=take, args=(stores[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(tickets) == list(range(200))


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
