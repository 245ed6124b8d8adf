"""The careers page and the real assistant behind it, and headless Chromium to use them.

The servers start once per test session, exactly as `make run` starts them (bot.serve), on free
ports; the page is pointed at this session's Rasa port. Chromium is Debian's (`make system`),
never a browser Playwright downloads. Every page a test opens records every request it makes,
and the test fails if one went anywhere but 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
)

from bot import serve
from tests.support.browser import ANSWER_TIMEOUT_MS, RepliesOfTurn, Traffic, stored_session_id
from tests.support.logs import ConversationLog
from tests.support.servers import ARTIFACTS, free_port


@pytest.fixture(scope="session")
def page_url(assistant: serve.Running) -> Iterator[str]:
    """The careers page, served by `python -m bot web`, talking to this session's Rasa."""
    with serve.page_server(free_port(), assistant.rasa_url, log_dir=ARTIFACTS / "logs") as url:
        yield url


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


@pytest.fixture
def replies_of_turn(conversation_log: ConversationLog) -> RepliesOfTurn:
    """How many messages the page should show for the turn just asked, from the bot events
    Rasa logged for it (it logs the turn after sending them). The socket.io output sends a
    text as one message per paragraph (bot/channels/socketio.py, as stock Rasa does)."""

    def shown(event: dict[str, Any]) -> int:
        if event["event"] != "bot":
            return 0
        if event.get("text"):
            return len(event["text"].strip().split("\n\n"))
        return 1 if any((event.get("data") or {}).values()) else 0

    def count(page: Page) -> int:
        conversation = "web:" + stored_session_id(page).partition(".")[0]
        asked = page.locator(".ccw-message--user").count()
        events = conversation_log.saved_events(conversation, user_messages=asked)
        last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
        return sum(shown(event) for event in events[last_user:])

    return count
