"""The review console over a conversation log filled as the assistant fills it."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot import serve
from bot.review import logins_page
from bot.review.app import create_app
from bot.review.console import domain_intents
from bot.review.database import ConversationLog
from bot.settings import Settings
from bot.store.sql import make_engine
from tests.support.review import (
    PASSWORD,
    SECRET,
    TEST_SCRYPT_N,
    TRAINER,
    Live,
    add_trainer,
    fill,
    fill_unanswered,
    log_in,
    talk,
)
from tests.support.servers import ARTIFACTS, free_port


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'conversations.db'}"


@pytest.fixture
def log(sqlite_url: str) -> Iterator[ConversationLog]:
    found = ConversationLog(make_engine(sqlite_url), scrypt_n=TEST_SCRYPT_N)
    found.create_tables()
    yield found
    found.engine.dispose()


@pytest.fixture
def app(log: ConversationLog, sqlite_url: str) -> web.Application:
    settings = Settings(tracker_store_url=sqlite_url, review_secret=SECRET)
    logins_page.set_trainer(log, TRAINER, PASSWORD)
    return create_app(settings, log=log, intents=domain_intents())


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app)) as found:
        yield found


@pytest.fixture
async def logged_in(client: TestClient, sqlite_url: str) -> None:
    """The trainer logged in with `client`, over fill's four conversations."""
    await fill(sqlite_url)
    await log_in(client)


@pytest.fixture(scope="session")
def unanswered_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fill_unanswered's log with a trainer account, made once; tests work on copies."""
    root = tmp_path_factory.mktemp("unanswered")
    url = f"sqlite:///{root / 'conversations.db'}"
    asyncio.run(fill_unanswered(url))
    add_trainer({"TRACKER_STORE_URL": url})
    return root / "conversations.db"


@pytest.fixture
def unanswered_console(unanswered_log: Path, tmp_path: Path) -> Iterator[str]:
    """The console, started as `make review` starts it, over a fresh copy of that log."""
    copy = tmp_path / "conversations.db"
    shutil.copy(unanswered_log, copy)
    env = {"TRACKER_STORE_URL": f"sqlite:///{copy}", "REVIEW_SECRET": SECRET}
    with serve.review_console(free_port(), log_dir=ARTIFACTS / "logs", extra_env=env) as url:
        yield url


# --- the real assistant, logging to a temp file, and the console started as `make run` does --


@pytest.fixture(scope="session")
def live(
    model: Path, role_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """An assistant of its own, not the session's: the console's counts and filters are
    checked against a log holding exactly these five conversations."""
    log_url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'conversations.db'}"
    env = {"TRACKER_STORE_URL": log_url, "ROLE_STORE_URL": role_store_url, "REVIEW_SECRET": SECRET}
    ports = serve.Ports(rasa=free_port(), actions=free_port(), review=free_port())
    logs = ARTIFACTS / "logs"
    with serve.assistant(ports, model, log_dir=logs, extra_env=env) as running:
        senders = talk(running, uuid.uuid4().hex[:8])
    add_trainer(env)
    with serve.review_console(ports.review, log_dir=logs, extra_env=env) as url:
        yield Live(url, log_url, senders)
