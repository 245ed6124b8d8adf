"""The fixtures every test folder shares (a pytest plugin, loaded by tests/conftest.py).

Expensive things start once per session: the PostgreSQL server, the trained model, the fake
provider APIs and the assistant. Everything they write goes to throw-away places (a temporary
folder, a database of the session's own PostgreSQL), never to the developer's var/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from bot import serve, training
from bot.prod.processes import PostgreSQL, throwaway_postgres
from bot.settings import PROJECT_ROOT, get_settings
from bot.store import Content, SqlRoleStore, get_store, read_content
from tests.support import providers
from tests.support.browser import launch
from tests.support.fakes import FakeProviders, fake_providers
from tests.support.logs import ConversationLog
from tests.support.servers import ARTIFACTS, BotCommand, bot_command, free_port
from tests.support.tracking import fresh_log_url

# The log keeps conversation ids only as this key's pseudonyms (bot/tracking/identity.py).
SENDER_ID_KEY = "test-sender-id-key-0123456789abcdef0123456789"
# The source page as published (tests/store/test_content.py compares the stored copy).
SEED_PAGE = PROJECT_ROOT.parent / "shared" / "seed" / "radiography-assistants.txt"


@pytest.fixture(scope="session")
def content() -> Content:
    return read_content(PROJECT_ROOT / "data" / "roles")


# --- databases ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgreSQL]:
    """One throw-away PostgreSQL for the session, started by production's own launcher."""
    with throwaway_postgres(free_port(), ARTIFACTS / "logs") as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgreSQL) -> str:
    """The session server's main database: tests that use it empty it first."""
    return postgres_server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty role-store database on each backend the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'roles.db'}"
    url: str = request.getfixturevalue("postgres_url")
    from bot.store.models import Base

    store = SqlRoleStore(url)
    Base.metadata.drop_all(store.engine)
    store.engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty conversation-log database on each backend the log supports."""
    return fresh_log_url(request, tmp_path)


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


@pytest.fixture(scope="session")
def role_store_url(tmp_path_factory: pytest.TempPathFactory, content: Content) -> str:
    """A role store loaded with the real content, for the session's processes."""
    url = f"sqlite:///{tmp_path_factory.mktemp('roles') / 'roles.db'}"
    store = SqlRoleStore(url)
    store.load(content)
    store.engine.dispose()
    return url


# --- settings -----------------------------------------------------------------------------


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Change the environment the settings are read from: the settings and the store they
    name are read again in the test, and once more after it."""
    get_settings.cache_clear()
    get_store.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    get_store.cache_clear()


@pytest.fixture
def configured(settings_env: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Point the settings (and so get_store) at a fresh SQLite file for this test."""
    url = f"sqlite:///{tmp_path / 'configured.db'}"
    settings_env.setenv("ROLE_STORE_URL", url)
    return url


# --- processes ----------------------------------------------------------------------------


@pytest.fixture
def cli() -> BotCommand:
    """`python -m bot ...` in a process of its own (tests/support/servers.bot_command): a test
    that asks for it is marked `process` (seconds of imports per run)."""
    return bot_command


# --- the assistant ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model(role_store_url: str) -> Path:
    """The model `make train` builds; trained here only if it is missing or stale."""
    store = SqlRoleStore(role_store_url)
    try:
        training.train(store)
    finally:
        store.engine.dispose()
    assert training.MODEL_PATH.exists()
    return training.MODEL_PATH


@pytest.fixture(scope="session")
def fakes() -> Iterator[FakeProviders]:
    """The providers' APIs, on 127.0.0.1: every channel of the assistant talks to them."""
    with fake_providers() as running:
        yield running


@pytest.fixture(scope="session")
def assistant_log_url(postgres_server: PostgreSQL) -> str:
    """The session assistant's conversation log: a database of its own on the session's
    PostgreSQL (the backend production logs to), which no other test empties."""
    return postgres_server.create_database("conversations")


@pytest.fixture(scope="session")
def assistant(
    model: Path,
    fakes: FakeProviders,
    assistant_log_url: str,
    role_store_url: str,
) -> Iterator[serve.Running]:
    """The assistant as `make run` starts it (Rasa and the action server, bot.serve), once for
    the session, with every messaging channel on and pointed at the fake providers."""
    env = {
        **providers.channel_env(fakes),
        "TRACKER_STORE_URL": assistant_log_url,
        "ROLE_STORE_URL": role_store_url,
        "SENDER_ID_KEY": SENDER_ID_KEY,
    }
    with serve.assistant(
        serve.Ports(rasa=free_port(), actions=free_port()),
        model=model,
        log_dir=ARTIFACTS / "logs",
        extra_env=env,
    ) as running:
        yield running


@pytest.fixture(scope="session")
def conversation_log(assistant_log_url: str) -> Iterator[ConversationLog]:
    log = ConversationLog(assistant_log_url, SENDER_ID_KEY)
    yield log
    log.engine.dispose()


# --- headless Chromium --------------------------------------------------------------------


# Module scope, not session: while Playwright's sync API is started, its event loop counts as
# running in this thread, and pytest-asyncio cannot run the async tests of later modules.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = launch(playwright)
        yield found
        found.close()
