"""A trainer's work in headless Chromium, over a log filled by real REST conversations.

The assistant (Rasa and the action server) and the console are started as `make run` starts
them, on free ports, logging to a temporary SQLite file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import console_page, record_dialogs
from tests.support.review import PASSWORD, TRAINER, Live
from tests.support.tracking import assert_nothing_personal


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    with console_page(browser, live.console_url) as found:
        yield found


def log_in(page: Page, password: str = PASSWORD) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)$"))
    page.get_by_label("Username").fill(TRAINER)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def rows(page: Page) -> list[str]:
    return sorted(
        page.locator("tr[data-sender]").evaluate_all(
            "rs => rs.map(r => r.querySelectorAll('td')[1].textContent)"
        )
    )


def test_the_log_holds_the_conversations_with_personal_data_masked(live: Live) -> None:
    assert_nothing_personal(live.log_url)


def test_a_wrong_password_is_refused(page: Page) -> None:
    log_in(page, password="not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_log_in_filter_open_relabel_and_export(page: Page, live: Live) -> None:
    # Rows by the first message: the log keeps a keyed hash of each sender, not the id.
    s = {
        "unhelpful": "what does an assistant practitioner do?",
        "nonsense": "qwzx blorf zzzt",
    }
    log_in(page)
    expect(page.locator("#count")).to_have_text("5 conversations")
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly

    page.get_by_label('"not helpful" feedback').check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#count")).to_have_text("1 conversation")
    assert rows(page) == [s["unhelpful"]]

    page.get_by_label('"not helpful" feedback').uncheck()
    page.get_by_label("Text").fill("blorf")
    page.get_by_role("button", name="Filter").click()
    assert rows(page) == [s["nonsense"]]

    # The transcript: intent and confidence per message, the bot's actions and replies.
    page.goto("/?q=assistant+practitioner+do")
    page.locator("tr[data-sender]", has_text=s["unhelpful"]).locator("a").click()
    first = page.locator(".turn.user").first
    expect(first.locator(".text")).to_have_text("what does an assistant practitioner do?")
    expect(first).to_contain_text(re.compile(r"intent \w+ \((0\.\d\d|1\.00)\)"))
    expect(first).to_contain_text("answer rated not helpful")
    expect(page.locator(".turn.bot").first).to_contain_text("assistant practitioners")
    expect(page.locator(".turn.action").first).to_contain_text("action_")
    expect(page.locator(".turn.slot", has_text="slot feedback = not_helpful")).to_be_visible()

    # Review marks: a tag and "reviewed", then filter by them.
    page.get_by_label("New tag").fill("Needs answer")
    page.get_by_role("button", name="Add tag").click()
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_text(f"reviewed by {TRAINER}")).to_be_visible()
    page.goto("/?tag=needs+answer&status=reviewed")
    assert rows(page) == [s["unhelpful"]]

    # Relabel: the nonsense message is out of scope; label the other one with the select.
    page.goto("/?q=blorf")
    page.locator("tr[data-sender] a").click()
    page.get_by_role("button", name="Mark out of scope").click()
    expect(page.locator(".turn.user .label").first).to_have_text("labelled out_of_scope")
    page.goto("/?q=assistant+practitioner+do")
    page.locator("tr[data-sender] a").click()
    page.locator("form.relabel select").first.select_option("ask_duties")
    page.get_by_role("button", name="Save label").first.click()
    expect(page.locator(".turn.user .label").first).to_have_text("labelled ask_duties")

    page.get_by_role("link", name="Export").click()
    exported = page.locator("#yaml").inner_text()
    assert "- intent: out_of_scope\n  examples: |\n    - qwzx blorf zzzt\n" in exported
    summary = page.locator("#summary").inner_text()
    assert "in data/nlu/" in summary and "held-out" in summary
    download = page.request.get("/export.yml")
    assert download.ok and "    - qwzx blorf zzzt\n" in download.text()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("svg")).to_have_count(5)
    expect(page.locator("#totals")).to_contain_text("5 conversations")


def test_a_form_without_its_csrf_token_is_refused(page: Page, live: Live) -> None:
    log_in(page)
    page.goto("/?q=blorf")
    page.locator("tr[data-sender] a").click()
    page.locator('form[action$="/note"] input[name="csrf_token"]').evaluate("e => e.remove()")
    page.get_by_label("Note").fill("should not be saved")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("body")).to_contain_text("missing or wrong CSRF token")
    page.go_back()
    page.reload()
    expect(page.get_by_label("Note")).to_have_value("")


def test_a_script_in_a_message_stays_inert(page: Page, live: Live) -> None:
    dialogs = record_dialogs(page)
    log_in(page)
    page.goto("/?q=xss")
    expect(page.locator("tr[data-sender] td").nth(1)).to_contain_text("<script>window.__xss")
    page.locator("tr[data-sender] a").click()
    expect(page.locator(".turn.user .text").first).to_have_text(
        "<script>window.__xss = 1; alert(1)</script> how do I apply to be a radiography assistant?"
    )
    assert page.locator("script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
