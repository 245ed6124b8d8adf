"""The widget's privacy controls in headless Chromium, against the real assistant, on a desktop
and a phone: the notice before the first message (its period read from the server), Download
(a text file of what the person sees), Delete (the server no longer has the conversation, and
the page starts afresh) and New conversation; by keyboard, and axe clean."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot import serve
from tests.support.browser import Chat, RepliesOfTurn, Traffic, run_axe, stored_session_id
from tests.support.logs import ConversationLog
from tests.support.servers import ARTIFACTS, free_port, wait_for

# Not the default (30), so the notice can only have it from the page server's settings.
RETENTION_DAYS = "21"
QUESTION = "What does an assistant practitioner do?"
SOURCE_TITLE = "NHS Careers: Radiography assistants and imaging support workers"
VIEWPORTS = pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)], ids=["desktop", "phone"])


@pytest.fixture(scope="module")
def privacy_page_url(assistant: serve.Running) -> Iterator[str]:
    """The careers page, served as `python -m bot web` serves it, with a retention period of
    its own and the operator's details set."""
    env = {
        "LOG_RETENTION_DAYS": RETENTION_DAYS,
        "PRIVACY_OPERATOR_NAME": "NHS Example Trust",
        "PRIVACY_CONTACT": "ig@example.nhs.uk",
    }
    with serve.page_server(
        free_port(), assistant.rasa_url, log_dir=ARTIFACTS / "logs", extra_env=env
    ) as url:
        yield url


def open_chat(
    page: Page, url: str, viewport: tuple[int, int], replies_of_turn: RepliesOfTurn
) -> Chat:
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto(url)
    chat = Chat(page, replies_of_turn)
    chat.open()
    return chat


def conversation_of(page: Page) -> str:
    return "web:" + stored_session_id(page).partition(".")[0]


def stored(page: Page) -> list[str]:
    """Everything the widget keeps in the browser's storage."""
    found: list[str] = page.evaluate(
        "() => Object.keys(sessionStorage).map(k => sessionStorage.getItem(k))"
    )
    return found


@VIEWPORTS
def test_the_notice_comes_before_the_first_message(
    page: Page,
    privacy_page_url: str,
    viewport: tuple[int, int],
    replies_of_turn: RepliesOfTurn,
    traffic: Traffic,
) -> None:
    chat = open_chat(page, privacy_page_url, viewport, replies_of_turn)
    notice = page.locator("#careers-chat-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("automated assistant")
    expect(notice).to_contain_text(f"kept for {RETENTION_DAYS} days")
    expect(notice).to_contain_text("read by the careers team")
    expect(notice).to_contain_text("don't share personal details")
    expect(chat.panel).to_have_attribute("aria-describedby", "careers-chat-notice")
    link = notice.get_by_role("link", name="Privacy notice (opens in a new tab)")
    assert (link.get_attribute("href") or "").endswith("/privacy")
    assert run_axe(page) == []
    box = notice.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport[0]
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"notice-{viewport[0]}.png"))

    chat.ask(QUESTION)
    expect(notice).to_be_hidden()  # said before the first message; the Privacy link stays
    expect(
        chat.panel.get_by_role("link", name="Privacy notice (opens in a new tab)")
    ).to_be_visible()

    with page.context.expect_page() as opened:
        link = chat.panel.get_by_role("link", name="Privacy notice (opens in a new tab)")
        link.click()
    notice_page = opened.value
    notice_page.wait_for_load_state()
    expect(notice_page.get_by_role("heading", level=1)).to_contain_text("Privacy notice")
    expect(notice_page.locator("#retention")).to_have_text(f"{RETENTION_DAYS} days")
    expect(notice_page.locator("#operator")).to_have_text("NHS Example Trust")
    assert run_axe(notice_page) == []
    assert not traffic.console_errors


@VIEWPORTS
def test_download_saves_what_the_person_sees_as_text(
    page: Page,
    privacy_page_url: str,
    viewport: tuple[int, int],
    replies_of_turn: RepliesOfTurn,
    tmp_path: Path,
) -> None:
    chat = open_chat(page, privacy_page_url, viewport, replies_of_turn)
    chat.ask(QUESTION)
    button = page.get_by_role("button", name="Download this conversation")
    with page.expect_download() as started:
        button.click()
    download = started.value
    assert download.suggested_filename == "careers-assistant-conversation.txt"
    saved = tmp_path / "conversation.txt"
    download.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "NHS careers assistant: your conversation"
    assert re.fullmatch(r"Downloaded \d{4}-\d\d-\d\d \d\d:\d\d UTC", lines[1])
    assert lines[3].startswith("Assistant: Hello, I'm the NHS careers assistant.")
    assert f"You: {QUESTION}" in lines
    answer = chat.reply_containing("What assistant practitioners do:").first.inner_text()
    shown = answer.removeprefix("Assistant: ").split("\n\nSource:")[0]
    assert f"Assistant: {shown}" in text
    assert any(line.startswith(f"Source: {SOURCE_TITLE} (http") for line in lines)
    assert "Suggested replies: Helpful | Not helpful" in lines
    expect(page.locator(".ccw-status")).to_have_text("Downloaded this conversation as a text file.")


@VIEWPORTS
def test_delete_erases_the_conversation_on_the_server_and_starts_afresh(
    page: Page,
    privacy_page_url: str,
    viewport: tuple[int, int],
    replies_of_turn: RepliesOfTurn,
    conversation_log: ConversationLog,
    traffic: Traffic,
) -> None:
    chat = open_chat(page, privacy_page_url, viewport, replies_of_turn)
    chat.ask(QUESTION)
    conversation = conversation_of(page)
    assert conversation_log.events(conversation) != []

    page.get_by_role("button", name="Delete this conversation").click()
    question = page.get_by_role("group", name=re.compile("^Delete this conversation\\?"))
    expect(question).to_be_visible()
    expect(page.locator(".ccw-confirm-text")).to_be_focused()
    assert run_axe(page) == []
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"delete-{viewport[0]}.png"))
    page.get_by_role("button", name="Yes, delete it").click()

    status = page.locator(".ccw-status")
    expect(status).to_have_text("This conversation has been deleted. You can start a new one.")
    wait_for(lambda: conversation_log.events(conversation) == [], 15, "the conversation erased")
    expect(question).to_be_hidden()
    expect(chat.messages("user")).to_have_count(0)
    expect(chat.messages("bot")).to_have_count(1)  # the opening message, as on a first visit
    expect(page.locator("#careers-chat-notice")).to_be_visible()
    assert not any(QUESTION in value for value in stored(page))
    expect(chat.input).to_be_focused()

    chat.ask("how do I apply to be a radiography assistant?")  # a new conversation
    assert conversation_of(page) != conversation
    assert conversation_log.events(conversation) == []
    assert traffic.hosts() <= {"127.0.0.1"}
    assert not traffic.console_errors


@VIEWPORTS
def test_new_conversation_keeps_the_last_one_on_the_server(
    page: Page,
    privacy_page_url: str,
    viewport: tuple[int, int],
    replies_of_turn: RepliesOfTurn,
    conversation_log: ConversationLog,
) -> None:
    chat = open_chat(page, privacy_page_url, viewport, replies_of_turn)
    chat.ask(QUESTION)
    first = conversation_of(page)
    page.get_by_role("button", name="New conversation").click()
    expect(page.locator(".ccw-status")).to_have_text(
        f"You've started a new conversation. The last one is kept for {RETENTION_DAYS} days "
        "unless you delete it."
    )
    expect(chat.messages("user")).to_have_count(0)
    expect(page.locator("#careers-chat-notice")).to_be_visible()
    chat.ask("how do I apply to be a radiography assistant?")
    second = conversation_of(page)
    assert second != first
    assert [e["text"] for e in conversation_log.user_messages(first)] == [QUESTION]
    assert [e["text"] for e in conversation_log.user_messages(second, at_least=1)] == [
        "how do I apply to be a radiography assistant?"
    ]


def test_delete_by_keyboard_and_changing_ones_mind(
    page: Page,
    privacy_page_url: str,
    replies_of_turn: RepliesOfTurn,
    conversation_log: ConversationLog,
) -> None:
    chat = open_chat(page, privacy_page_url, (1280, 800), replies_of_turn)
    chat.ask(QUESTION)
    conversation = conversation_of(page)
    delete = page.get_by_role("button", name="Delete this conversation")
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        if delete.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Shift+Tab never reached Delete this conversation")
    page.keyboard.press("Enter")
    expect(page.locator(".ccw-confirm-text")).to_be_focused()
    page.keyboard.press("Escape")  # changes their mind: the question goes, the chat stays
    expect(page.locator(".ccw-confirm")).to_be_hidden()
    expect(chat.panel).to_be_visible()
    expect(delete).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="No, keep it")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".ccw-confirm")).to_be_hidden()
    assert conversation_log.events(conversation) != []  # kept

    page.keyboard.press("Enter")  # Delete again, then Yes
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Yes, delete it")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".ccw-status")).to_contain_text("has been deleted")
    wait_for(lambda: conversation_log.events(conversation) == [], 15, "the conversation erased")
    stored_state = json.loads(stored(page)[0])
    assert stored_state["messages"][0]["from"] == "bot" and len(stored_state["messages"]) == 1
