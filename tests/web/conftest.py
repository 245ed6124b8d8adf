"""The careers page and the real assistant behind it, and headless Chromium to use them.

The servers start once per test session, exactly as `make run` starts them (bot.serve), on free
ports; the page is pointed at this session's Rasa port. Chromium is Debian's (`make system`),
never a browser Playwright downloads. Every page a test opens records every request it makes,
and the test fails if one went anywhere but 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Playwright,
    sync_playwright,
)
from sqlalchemy import create_engine, text

from bot import serve
from bot.settings import PROJECT_ROOT
from bot.tracking.identity import pseudonym
from bot.training import MODEL_PATH
from tests.servers import free_port

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ANSWER_TIMEOUT_MS = 60_000
# The log stores conversation ids only as this key's pseudonyms (bot/tracking/identity.py).
SENDER_ID_KEY = "web-test-sender-id-key-0123456789abcdef01"


@pytest.fixture(scope="session")
def model() -> Path:
    """The model `make train` built. These tests never train (tests/rasa does, when stale)."""
    if not MODEL_PATH.exists():
        pytest.fail(f"no trained model at {MODEL_PATH}: run `make train` first")
    return MODEL_PATH


@pytest.fixture(scope="session")
def log_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's conversation log (the tracker store's database)."""
    return f"sqlite:///{tmp_path_factory.mktemp('web') / 'conversations.db'}"


@pytest.fixture(scope="session")
def assistant(model: Path, log_url: str) -> Iterator[serve.Running]:
    ports = serve.Ports(rasa=free_port(), actions=free_port())
    extra_env = {"TRACKER_STORE_URL": log_url, "SENDER_ID_KEY": SENDER_ID_KEY}
    with serve.assistant(
        ports, model=model, log_dir=ARTIFACTS / "logs", extra_env=extra_env
    ) as running:
        yield running


def logged_events(log_url: str, sender_id: str) -> list[dict[str, Any]]:
    """The events the tracker store kept for one conversation (found by its pseudonym)."""
    engine = create_engine(log_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
                {"sender": pseudonym(sender_id, SENDER_ID_KEY)},
            )
            return [json.loads(row[0]) for row in rows]
    finally:
        engine.dispose()


def saved_events(log_url: str, sender_id: str, timeout: float = 10) -> list[dict[str, Any]]:
    """The conversation's events once Rasa has saved them: it saves after sending the replies,
    so a test that has just read a reply waits for the save rather than racing it."""
    deadline = time.monotonic() + timeout
    while True:
        events = logged_events(log_url, sender_id)
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


@pytest.fixture(scope="session")
def page_url(assistant: serve.Running) -> Iterator[str]:
    """The careers page, served by `python -m bot web`, talking to this session's Rasa."""
    with serve.page_server(free_port(), assistant.rasa_url, log_dir=ARTIFACTS / "logs") as url:
        yield url


# Module scope, not session: while Playwright's sync API is started, its event loop counts as
# running in this thread, and pytest-asyncio cannot run the async tests of later modules.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system` (apt-get install chromium)")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@dataclass
class Traffic:
    """Every URL a page requested (HTTP and WebSocket), and every dialog it tried to open."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname or "" for url in self.requests}


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def page(browser: Browser, traffic: Traffic) -> Iterator[Page]:
    """A fresh browser context (empty storage) at desktop size, recording its traffic."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(ANSWER_TIMEOUT_MS)

    def on_dialog(dialog: Dialog) -> None:
        traffic.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            traffic.console_errors.append(message.text)

    def on_page_error(error: Error) -> None:
        traffic.console_errors.append(f"uncaught: {error.message}")

    context.on("request", lambda request: traffic.requests.append(request.url))
    page.on("websocket", lambda socket: traffic.requests.append(socket.url))
    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    yield page
    context.close()
    assert traffic.hosts() <= {"127.0.0.1"}, f"requests left 127.0.0.1: {traffic.requests}"
