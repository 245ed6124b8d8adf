"""Shared fixtures: the real content, role stores on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, get_settings
from bot.store import Content, SqlRoleStore, get_store, read_content
from tests.servers import postgres_server

SEED_PAGE = PROJECT_ROOT.parent / "shared" / "seed" / "radiography-assistants.txt"


@pytest.fixture(scope="session")
def content() -> Content:
    return read_content(PROJECT_ROOT / "data" / "roles")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each backend the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'roles.db'}"
    url: str = request.getfixturevalue("postgres_url")
    # Each test gets an empty database: drop what an earlier test loaded.
    from bot.store.models import Base

    store = SqlRoleStore(url)
    Base.metadata.drop_all(store.engine)
    store.engine.dispose()
    return url


@pytest.fixture
def loaded_store(store_url: str, content: Content) -> Iterator[SqlRoleStore]:
    store = SqlRoleStore(store_url)
    store.load(content)
    yield store
    store.engine.dispose()


@pytest.fixture
def memory_store(content: Content) -> SqlRoleStore:
    """An in-memory SQLite store holding the real content: what action tests hand an action."""
    store = SqlRoleStore.in_memory()
    store.load(content)
    return store


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """Point the settings (and so get_store) at a fresh SQLite file for this test."""
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    monkeypatch.setenv("ROLE_STORE_URL", url)
    get_settings.cache_clear()
    get_store.cache_clear()
    yield url
    get_settings.cache_clear()
    get_store.cache_clear()
