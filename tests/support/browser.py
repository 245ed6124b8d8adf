"""Headless Chromium (Debian's, driven by Playwright) and the chat widget used as a person uses
it: open it, type, wait for the reply."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Dialog, Locator, Page, Playwright, expect

from bot.web.server import NODE_MODULES
from tests.support.servers import ARTIFACTS

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
SCREENSHOTS = ARTIFACTS / "screenshots"


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, never a browser Playwright downloads."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make system` (apt-get install chromium)"
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def stored_session_id(page: Page) -> str:
    """The session id the server issued to the widget, as the widget keeps it."""
    stored: dict[str, Any] = json.loads(
        page.evaluate(
            "() => Object.keys(sessionStorage)"
            ".filter(k => k.startsWith('careers-chat:'))"
            ".map(k => sessionStorage.getItem(k))[0]"
        )
    )
    session_id: str = stored["sessionId"]
    assert re.fullmatch(r"[0-9a-f]{32}\.[0-9a-f]{32}", session_id)  # issued by the server
    return session_id


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core from the careers page's node_modules (no CDN), run in the page; the serious
    and critical violations. Playwright's evaluate is not a page script, so a page whose CSP
    allows none (the console) is checked too."""
    page.evaluate((NODE_MODULES / "axe-core" / "axe.min.js").read_text() + "\n;0")
    results: dict[str, Any] = page.evaluate("() => axe.run(document)")
    return [v for v in results["violations"] if v["impact"] in ("serious", "critical")]


@contextmanager
def console_page(browser: Browser, base_url: str, **options: Any) -> Iterator[Page]:
    """A page of the review console at `base_url`, in a fresh context (no cookies)."""
    context = browser.new_context(base_url=base_url, **options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def record_dialogs(page: Page) -> list[str]:
    """The messages of every dialog (alert, confirm) the page opens from now on; each is
    dismissed."""
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def next_frame(page: Page) -> None:
    """Return once the page has rendered a frame and run the tasks queued before it: what a
    handler injected by a message would have needed to run."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))")


@dataclass
class Traffic:
    """Every URL a page requested (HTTP and WebSocket), and every dialog it tried to open."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname or "" for url in self.requests}


# How many bot messages the assistant sent in the turn the page just asked, once it has sent
# them all (for the real assistant: read from the conversation log, which Rasa writes after
# sending the replies).
RepliesOfTurn = Callable[[Page], int]


class Chat:
    def __init__(self, page: Page, replies_of_turn: RepliesOfTurn | None = None) -> None:
        self.page = page
        self.replies_of_turn = replies_of_turn
        self.launcher = page.locator(".ccw-launcher")
        self.panel = page.get_by_role("dialog", name="NHS careers assistant")
        self.input = page.get_by_label("Your question")
        self.send_button = page.get_by_role("button", name="Send")
        self.log = page.get_by_role("log")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def messages(self, who: str) -> Locator:
        return self.page.locator(f".ccw-message--{who} .ccw-text")

    def ask(self, question: str) -> None:
        """Type a question, send it, and wait until the assistant has answered."""
        answered = self.messages("bot").count()
        self.input.fill(question)
        self.send_button.click()
        self.wait_for_answer(answered)

    def wait_for_answer(self, answered_before: int) -> None:
        """Wait for the first reply; then, when the number of replies of the turn is known,
        for exactly that many (one shown twice fails)."""
        bot = self.messages("bot")
        expect(bot).not_to_have_count(answered_before, timeout=ANSWER_TIMEOUT_MS)
        if self.replies_of_turn is not None:
            expected = answered_before + self.replies_of_turn(self.page)
            expect(bot).to_have_count(expected, timeout=ANSWER_TIMEOUT_MS)
        expect(self.page.locator(".ccw-typing--active")).to_have_count(0)

    def reply_containing(self, text: str) -> Locator:
        return self.messages("bot").filter(has_text=text)
