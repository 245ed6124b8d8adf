"""The careers page and its chat widget in headless Chromium, against the real assistant.

The page is served by `python -m bot web` on one port and Rasa listens on another, so every
test here also checks that the widget reaches Rasa across origins (CORS and the CSP).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from bot import serve
from tests.support.browser import (
    SCREENSHOTS,
    Chat,
    RepliesOfTurn,
    Traffic,
    next_frame,
    run_axe,
    stored_session_id,
)

SOURCE_URL = re.compile(r"^https?://www\.nhscareers\.nhs\.uk/explore-by-career/")
SOURCE_TITLE = "NHS Careers: Radiography assistants and imaging support workers"


def open_chat(page: Page, page_url: str, replies_of_turn: RepliesOfTurn) -> Chat:
    page.goto(page_url)
    chat = Chat(page, replies_of_turn)
    chat.open()
    return chat


def test_the_page_uses_the_nhs_design_system_and_only_its_own_host(
    page: Page, page_url: str, traffic: Traffic
) -> None:
    page.goto(page_url)
    expect(page).to_have_title(re.compile("Radiography support careers"))
    expect(page.locator("header.nhsuk-header")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Radiography support roles")
    # nhsuk-frontend's CSS is applied: the header is NHS blue.
    colour = page.locator("header.nhsuk-header").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert colour == "rgb(0, 94, 184)"
    expect(page.get_by_role("button", name="Ask the careers assistant")).to_be_visible()
    page.wait_for_load_state("networkidle")
    paths = {urlsplit(url).path for url in traffic.requests}
    assert {"/", "/nhsuk/nhsuk.css", "/widget/careers-chat.js", "/widget/careers-chat.css"} <= paths
    assert traffic.hosts() == {"127.0.0.1"}
    assert not traffic.console_errors  # nothing blocked by the CSP, no script errors


def test_a_question_gets_the_right_answer_with_a_link(
    page: Page,
    page_url: str,
    traffic: Traffic,
    assistant: serve.Running,
    replies_of_turn: RepliesOfTurn,
) -> None:
    chat = open_chat(page, page_url, replies_of_turn)
    expect(chat.messages("bot").first).to_contain_text("NHS careers assistant")  # opening
    chat.ask("What does an assistant practitioner do?")
    expect(chat.messages("user").last).to_have_text("What does an assistant practitioner do?")
    expect(chat.reply_containing("What assistant practitioners do:")).to_be_visible()
    # The source is the page's title as a link (issue 10, item 6), not its raw URL.
    link = chat.log.get_by_role("link", name=f"{SOURCE_TITLE} (opens in a new tab)").last
    expect(link).to_be_visible()
    assert SOURCE_URL.match(link.get_attribute("href") or "")
    assert link.get_attribute("rel") == "noopener noreferrer"
    expect(chat.reply_containing(f"Source: {SOURCE_TITLE}")).to_be_visible()
    expect(chat.log).not_to_contain_text("nhscareers.nhs.uk")
    # The page (one origin) reached Rasa (another origin) over socket.io, websocket included.
    rasa_port = urlsplit(assistant.rasa_url).port
    assert any(url.startswith(f"ws://127.0.0.1:{rasa_port}/socket.io/") for url in traffic.requests)
    assert not traffic.console_errors


def test_a_quick_reply_sends_its_payload_and_shows_its_title(
    page: Page, page_url: str, replies_of_turn: RepliesOfTurn
) -> None:
    chat = open_chat(page, page_url, replies_of_turn)
    chat.ask("what roles are there?")  # the roles, and a button for each
    expect(chat.reply_containing("Which would you like to know about?")).to_be_visible()
    replies = page.get_by_role("group", name="Suggested replies")
    choice = replies.get_by_role("button", name=re.compile("assistant practitioner", re.I))
    title = choice.inner_text()
    answered = chat.messages("bot").count()
    choice.click()
    chat.wait_for_answer(answered)
    expect(chat.messages("user").last).to_have_text(title)  # the title, not the payload
    expect(chat.messages("bot").last).to_contain_text(re.compile("assistant practitioner", re.I))
    expect(page.get_by_text("/ask_overview")).to_have_count(0)
    expect(page.get_by_role("button", name=title)).to_have_count(0)  # spent replies are removed
    expect(chat.input).to_be_focused()


def test_a_reload_restores_the_transcript_and_continues_the_conversation(
    page: Page, page_url: str, replies_of_turn: RepliesOfTurn
) -> None:
    chat = open_chat(page, page_url, replies_of_turn)
    chat.ask("what does an assistant practitioner do?")
    expect(chat.reply_containing("What assistant practitioners do:")).to_be_visible()
    shown = chat.log.locator(".ccw-message, .ccw-reply")
    before = shown.all_inner_texts()
    session = stored_session_id(page)

    page.reload()
    chat = Chat(page, replies_of_turn)
    expect(chat.panel).to_be_visible()  # still open
    expect(shown).to_have_count(len(before))
    assert shown.all_inner_texts() == before  # the same transcript, suggested replies included
    expect(chat.messages("bot").filter(has_text="NHS careers assistant")).to_have_count(1)
    chat.ask("how do they get accredited?")  # "they": the role from before the reload
    expect(chat.reply_containing("Accreditation for assistant practitioners:")).to_be_visible()
    assert stored_session_id(page) == session


def test_markup_in_a_message_stays_text(
    page: Page, page_url: str, traffic: Traffic, replies_of_turn: RepliesOfTurn
) -> None:
    page.add_init_script("window.__pwned = false;")
    chat = open_chat(page, page_url, replies_of_turn)
    attacks = [
        "<img src=x onerror=alert(1)>",
        '<img src=x onerror="window.__pwned = true">',
        "<script>window.__pwned = true</script>",
        "<a href=javascript:alert(1)>click</a>",
    ]
    for attack in attacks:
        chat.ask(attack)
        expect(chat.messages("user").last).to_have_text(attack)
    widget = page.locator("[data-careers-chat]")
    expect(widget.locator("img, script, iframe, object, embed")).to_have_count(0)
    expect(widget.locator("a[href^='javascript']")).to_have_count(0)
    next_frame(page)  # an onerror handler, had one been made, would have run by now
    assert page.evaluate("window.__pwned") is False
    assert traffic.dialogs == []
    assert not any(urlsplit(url).path == "/x" for url in traffic.requests)


def test_keyboard_only(page: Page, page_url: str, replies_of_turn: RepliesOfTurn) -> None:
    page.goto(page_url)
    chat = Chat(page, replies_of_turn)
    launcher = page.get_by_role("button", name="Ask the careers assistant")
    for _ in range(30):  # Tab through the page to the launcher
        page.keyboard.press("Tab")
        if launcher.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the chat launcher")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_visible()
    expect(chat.input).to_be_focused()  # focus moves into the chat

    answered = chat.messages("bot").count()
    page.keyboard.type("what roles are there?")
    page.keyboard.press("Enter")
    chat.wait_for_answer(answered)
    expect(chat.reply_containing("Which would you like to know about?")).to_be_visible()
    expect(chat.input).to_be_focused()

    for _ in range(10):  # back from the input to the last suggested reply
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.classList.contains('ccw-reply')"):
            break
    else:
        pytest.fail("Shift+Tab never reached a suggested reply")
    answered = chat.messages("bot").count()
    page.keyboard.press("Enter")
    chat.wait_for_answer(answered)
    expect(chat.input).to_be_focused()

    page.keyboard.press("Escape")  # closes the chat and gives focus back to the launcher
    expect(chat.panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(chat.input).to_be_focused()
    close = page.get_by_role("button", name="Close the chat")
    stops = []
    for _ in range(20):  # backwards through the conversation (links, replies, the log itself)
        page.keyboard.press("Shift+Tab")
        stops.append(page.evaluate("document.activeElement.className"))
        if close.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail(f"Shift+Tab never reached the close button: {stops}")
    assert "ccw-log" in stops  # the conversation can be scrolled by keyboard
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_controls_are_labelled_for_screen_readers(
    page: Page, page_url: str, replies_of_turn: RepliesOfTurn
) -> None:
    chat = open_chat(page, page_url, replies_of_turn)
    expect(chat.log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("dialog", name="NHS careers assistant")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your question")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("button", name="Close the chat")).to_be_visible()
    chat.ask("what does an assistant practitioner do?")
    # Each message says who said it, for someone who cannot see the bubbles' sides.
    expect(chat.log.locator(".ccw-message--user").last).to_contain_text("You: ")
    expect(chat.log.locator(".ccw-message--bot").last).to_contain_text("Assistant: ")


@pytest.mark.parametrize("viewport", [(1280, 800), (360, 740)], ids=["desktop", "phone"])
def test_no_serious_accessibility_violations(
    page: Page, page_url: str, viewport: tuple[int, int], replies_of_turn: RepliesOfTurn
) -> None:
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto(page_url)
    expect(page.get_by_role("button", name="Ask the careers assistant")).to_be_visible()
    assert run_axe(page) == []  # the page, chat closed
    chat = Chat(page, replies_of_turn)
    chat.open()
    chat.ask("what are the entry requirements?")  # an answer with suggested replies
    chat.ask("what does an assistant practitioner do?")  # and one with a link
    violations = run_axe(page)
    assert violations == [], json.dumps(violations, indent=1)[:4000]


@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 800), ("phone", 360, 740)])
def test_screenshots_and_fit(
    page: Page, page_url: str, name: str, width: int, height: int, replies_of_turn: RepliesOfTurn
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(page_url)
    page.screenshot(path=str(SCREENSHOTS / f"page-{name}.png"))
    chat = Chat(page, replies_of_turn)
    chat.open()
    chat.ask("what are the entry requirements?")
    chat.ask("what does an assistant practitioner do?")
    page.screenshot(path=str(SCREENSHOTS / f"chat-{name}.png"))
    # Nothing sticks out sideways, and the input and Send button are on screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for control in (
        chat.input,
        chat.send_button,
        page.get_by_role("button", name="Close the chat"),
    ):
        box = control.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert box["y"] >= 0 and box["y"] + box["height"] <= height
    panel = chat.panel.bounding_box()
    assert panel is not None and panel["width"] <= width
    # A long answer is shown from its start, not scrolled past it to the end.
    answer = chat.reply_containing("What assistant practitioners do:").bounding_box()
    log = chat.log.bounding_box()
    assert answer is not None and log is not None
    assert log["y"] <= answer["y"] < log["y"] + log["height"]


def test_the_page_server_process_refuses_traversal(page_url: str) -> None:
    """`python -m bot web` as `make run` starts it, asked for files outside its allow-list."""
    import http.client

    parts = urlsplit(page_url)
    for path in ["/widget/../../serve.py", "/../../../etc/passwd", "/%2e%2e/cli.py", "/"]:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if path == "/":
            assert response.status == 200 and b"careers-chat.js" in body
        else:
            assert response.status == 404, path


# A socket.io client in the page, on the WebSocket transport only, sending one 900 kB message.
OVERSIZED_OVER_WEBSOCKET = """rasaUrl => new Promise(resolve => {
    const options = {path: '/socket.io/', transports: ['websocket'], reconnection: false};
    const socket = io(rasaUrl, options);
    socket.on('connect', () => socket.emit('session_request', {}));
    socket.on('session_confirm', () => socket.emit('user_uttered', {message: 'x'.repeat(900000)}));
    socket.on('bot_uttered', message => resolve('answered: ' + JSON.stringify(message)));
    socket.on('disconnect', reason => resolve('disconnected: ' + reason));
    setTimeout(() => resolve('still connected'), 30000);
})"""


def test_a_900_kb_websocket_frame_is_refused_and_the_chat_goes_on(
    page: Page, page_url: str, assistant: serve.Running, replies_of_turn: RepliesOfTurn
) -> None:
    """WebSocket frames pass nginx's body limit: engine.io's own buffer must refuse them."""
    chat = open_chat(page, page_url, replies_of_turn)
    chat.ask("what does an assistant practitioner do?")  # the widget has loaded socket.io
    outcome = page.evaluate(OVERSIZED_OVER_WEBSOCKET, assistant.rasa_url)
    assert outcome.startswith("disconnected"), outcome
    chat.ask("how do they get accredited?")  # the widget's own connection still answers
    expect(chat.reply_containing("Accreditation for assistant practitioners")).to_be_visible()
