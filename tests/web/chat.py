"""Driving the chat widget in a page the way a person does: open it, type, wait for the reply."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import ANSWER_TIMEOUT_MS


class Chat:
    def __init__(self, page: Page) -> None:
        self.page = page
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
        """Wait for a first reply, then until no more arrive for half a second."""
        expect(self.messages("bot")).not_to_have_count(answered_before, timeout=ANSWER_TIMEOUT_MS)
        expect(self.page.locator(".ccw-typing--active")).to_have_count(0)
        count = self.messages("bot").count()
        for _ in range(40):
            self.page.wait_for_timeout(500)
            if self.messages("bot").count() == count:
                return
            count = self.messages("bot").count()

    def reply_containing(self, text: str) -> Locator:
        return self.messages("bot").filter(has_text=text)
