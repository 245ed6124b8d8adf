"""The widget against a hostile socket.io server: nothing a bot sends becomes markup or script.

The real assistant never sends markup, so these tests put a fake Rasa in its place (a
python-socketio server on 127.0.0.1 that answers every message with hostile replies) and point
a careers page server at it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from aiohttp import web
from playwright.sync_api import Page, expect

from bot.web.server import PageConfig, create_app
from tests.support.browser import Chat, Traffic, next_frame
from tests.support.servers import free_port

HOSTILE: list[Any] = [
    {"text": '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>b</b>'},
    {"text": "javascript:window.__pwned=3 data:text/html,<script>alert(4)</script> vbscript:x"},
    {
        "text": 'See http://example.org/a"onmouseover="window.__pwned=5 and https://example.org/b<i>.'
    },
    {"text": "&lt;img src=x onerror=alert(6)&gt; &amp; <!-- comment -->"},
    {"attachment": {"type": "image", "payload": {"src": "http://evil.example/x.png"}}},
    {"text": 42},
    "a bare string",
    None,
    {
        "text": "Pick one",
        "quick_replies": [
            {"title": '<img src=x onerror="window.__pwned=7">', "payload": "<script>8</script>"}
        ],
    },
]


PAGE_TITLE = "NHS Careers: Radiography assistants and imaging support workers"
PAGE_URL = "https://www.nhscareers.nhs.uk/explore-by-career/allied-health-professions/"
# The answer to "sources": structured sources, good and hostile, as actions send them.
SOURCES: list[Any] = [
    {
        "text": "What assistant practitioners do:",
        "sources": [{"title": PAGE_TITLE, "url": PAGE_URL}],
    },
    {
        "text": "Hostile sources",
        "sources": [
            {"title": "Click me", "url": "javascript:window.__pwned=10"},
            {"title": "Data", "url": "data:text/html,<script>alert(11)</script>"},
            {"title": '<img src=x onerror="window.__pwned=12">', "url": "http://example.org/c"},
            {"title": "not a list item"},
        ],
    },
    {"text": "Bad shape", "sources": "javascript:window.__pwned=13"},
]


class FakeRasa:
    """A socket.io server speaking Rasa's events; answers every message with HOSTILE (and
    "sources" with SOURCES)."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        self.sio.on("session_request", self.session_request)
        self.sio.on("user_uttered", self.user_uttered)

    async def session_request(self, sid: str, data: Any) -> None:
        await self.sio.emit("session_confirm", "hostile-session", room=sid)

    async def user_uttered(self, sid: str, data: Any) -> None:
        self.received.append(data)
        wanted = SOURCES if isinstance(data, dict) and data.get("message") == "sources" else HOSTILE
        for message in wanted:
            await self.sio.emit("bot_uttered", message, room=sid)


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[str, FakeRasa]]:
    """A careers page (URL) whose widget talks to a FakeRasa, both on 127.0.0.1."""
    fake = FakeRasa()
    rasa_port, page_port = free_port(), free_port()
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []
    started = threading.Event()

    async def start() -> None:
        rasa_app = web.Application()
        fake.sio.attach(rasa_app)
        page_app = create_app(PageConfig(rasa_url=f"http://127.0.0.1:{rasa_port}"))
        for app, port in ((rasa_app, rasa_port), (page_app, page_port)):
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30)
    yield f"http://127.0.0.1:{page_port}/", fake

    async def stop() -> None:
        for runner in runners:
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def shown_text(page: Page, selector: str) -> list[str]:
    """The text of each element as a reader sees it (without the visually hidden labels)."""
    texts: list[str] = page.eval_on_selector_all(
        selector,
        """els => els.map(el => {
            const copy = el.cloneNode(true);
            copy.querySelectorAll('.ccw-visually-hidden').forEach(h => h.remove());
            return copy.textContent;
        })""",
    )
    return texts


def open_watched(page: Page, url: str, replies: int | None = None) -> Chat:
    """The page at `url` with its chat open, and `window.__pwned` false until a script an
    attacker got in sets it. `replies`: how many messages the FakeRasa answers with."""
    page.add_init_script("window.__pwned = false;")
    page.goto(url)
    chat = Chat(page, None if replies is None else lambda _: replies)
    chat.open()
    return chat


def test_hostile_bot_messages_are_shown_as_text(
    page: Page, hostile: tuple[str, FakeRasa], traffic: Traffic
) -> None:
    url, fake = hostile
    chat = open_watched(page, url)
    chat.input.fill("hello")
    chat.send_button.click()
    replies = page.get_by_role("group", name="Suggested replies").get_by_role("button")
    expect(replies).to_have_count(1)

    texts = shown_text(page, ".ccw-message--bot .ccw-text")[1:]  # after the opening message
    # The number, the attachment, the bare string and None are not shown.
    assert texts == [*(message["text"] for message in HOSTILE[:4]), "Pick one"]
    widget = page.locator("[data-careers-chat]")
    expect(widget.locator("img, script, b, i, iframe, object, embed")).to_have_count(0)
    hrefs = widget.locator(".ccw-text a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == ["http://example.org/a", "https://example.org/b"]  # http(s) only, cut at " <
    expect(replies.first).to_have_text('<img src=x onerror="window.__pwned=7">')

    replies.first.click()  # the title is shown as text, the payload sent as it is
    expect(chat.messages("user").last).to_have_text('<img src=x onerror="window.__pwned=7">')
    expect(chat.messages("bot")).to_have_count(1 + 2 * 5)
    assert [m["message"] for m in fake.received] == ["hello", "<script>8</script>"]
    assert all(m["session_id"] == "hostile-session" for m in fake.received)

    next_frame(page)  # any injected handler would have run by now
    assert page.evaluate("window.__pwned") is False
    assert traffic.dialogs == []
    assert not traffic.console_errors


def test_a_tampered_transcript_in_storage_is_shown_as_text(
    page: Page, hostile: tuple[str, FakeRasa]
) -> None:
    """What a reload restores is treated like a message: text, whatever storage holds."""
    url, _ = hostile
    page.add_init_script("window.__pwned = false;")
    page.goto(url)
    key = page.evaluate(
        "() => 'careers-chat:' + document.querySelector('script[data-server-url]')"
        ".dataset.serverUrl"
    )
    page.evaluate(
        """key => sessionStorage.setItem(key, JSON.stringify({
            sessionId: 'tampered', open: true,
            messages: [
              {from: 'bot', text: '<img src=x onerror="window.__pwned=1">',
               buttons: [{title: '<b>x</b>', payload: '/x'}]},
              {from: 'user', text: '<script>window.__pwned=2</script>'},
              {from: 'evil', text: '<img src=x>'},
              {from: 'bot', text: {toString: 1}},
            ]}))""",
        key,
    )
    page.reload()
    chat = Chat(page)
    expect(chat.panel).to_be_visible()
    assert shown_text(page, ".ccw-text") == [
        '<img src=x onerror="window.__pwned=1">',
        "<script>window.__pwned=2</script>",
    ]
    expect(page.locator("[data-careers-chat] img, [data-careers-chat] script")).to_have_count(0)
    next_frame(page)
    assert page.evaluate("window.__pwned") is False


def test_sources_are_links_showing_the_page_title_and_only_for_http_urls(
    page: Page, hostile: tuple[str, FakeRasa], traffic: Traffic
) -> None:
    url, _ = hostile
    chat = open_watched(page, url, replies=len(SOURCES))
    chat.ask("sources")
    expect(chat.messages("bot")).to_have_count(1 + len(SOURCES))
    answer = chat.reply_containing("What assistant practitioners do:")
    assert shown_text(page, ".ccw-message--bot .ccw-text")[1:3] == [
        f"What assistant practitioners do:\n\nSource: {PAGE_TITLE}",
        '<img src=x onerror="window.__pwned=12">'.join(["Hostile sources\n\nSource: ", ""]),
    ]
    link = answer.get_by_role("link", name=f"{PAGE_TITLE} (opens in a new tab)")
    expect(link).to_have_attribute("href", PAGE_URL)
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(answer).not_to_contain_text("https://")  # the title, not the raw URL

    widget = page.locator("[data-careers-chat]")
    hrefs = widget.locator(".ccw-sources a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs == [PAGE_URL, "http://example.org/c"]  # no javascript: or data: link
    expect(widget.locator("a[href^='javascript'], a[href^='data']")).to_have_count(0)
    expect(widget.get_by_text("Click me")).to_have_count(0)
    expect(widget.locator("img, script")).to_have_count(0)

    page.reload()  # the transcript keeps the sources, and they are checked again
    chat = Chat(page)
    expect(chat.panel).to_be_visible()
    links = page.locator("[data-careers-chat] .ccw-sources a")
    expect(links).to_have_count(2)
    expect(links.first).to_have_attribute("href", PAGE_URL)
    next_frame(page)
    assert page.evaluate("window.__pwned") is False
    assert traffic.dialogs == []
    assert not traffic.console_errors
