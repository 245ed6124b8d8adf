"""The Unanswered page, content gaps and the report in headless Chromium.

The console runs as `make review` runs it, over a copy of a log holding every way of not
answering (tests.review.conftest.fill_unanswered), so each test starts from the same groups.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from bot.review import report
from bot.review.database import ConversationLog
from bot.store.sql import make_engine
from tests.support.browser import SCREENSHOTS, console_page, record_dialogs, run_axe
from tests.support.review import PASSWORD, TRAINER, UNANSWERED_THIS_WEEK

PAY = [
    "what pay band is an assistant practitioner",
    "What band are radiography assistants on?",
    "what pay band are imaging support workers",
]


@pytest.fixture
def page(browser: Browser, unanswered_console: str) -> Iterator[Page]:
    with console_page(
        browser, unanswered_console, viewport={"width": 1280, "height": 900}
    ) as found:
        yield found


def log_in(page: Page, path: str = "/unanswered") -> None:
    page.goto(path)
    page.get_by_label("Username").fill(TRAINER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def group(page: Page, number: int) -> Locator:
    return page.locator(f"section#group-{number}")


def test_the_page_groups_what_was_not_answered(page: Page) -> None:
    dialogs = record_dialogs(page)
    log_in(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Unanswered")
    total = len(UNANSWERED_THIS_WEEK)
    expect(page.locator("#summary")).to_contain_text(f"{total} unanswered messages in 6 groups")
    expect(page.locator("section.group")).to_have_count(6)
    first = group(page, 1)
    expect(first.get_by_role("heading")).to_contain_text("3 ×")  # noqa: RUF001
    expect(first.locator("ul.examples li")).to_have_count(3)
    assert sorted(first.locator("ul.examples li").all_inner_texts()) == sorted(PAY)
    expect(first).to_contain_text("the page doesn't cover it (3)")
    expect(page.get_by_text("<script>window.__xss = 1</script> do you have parking").first)
    assert page.locator("script").count() == 0 and page.evaluate("window.__xss") is None
    assert dialogs == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-unanswered.png"), full_page=True)


def test_labelling_a_group_sends_it_to_the_export(page: Page) -> None:
    log_in(page)
    first = group(page, 1)
    first.get_by_label("Intent for these 3 messages").select_option("ask_pay_and_conditions")
    first.get_by_role("button", name="Label group 1").click()
    expect(page.get_by_role("status")).to_have_text(
        "Labelled 3 messages: they are in the export now."
    )
    expect(page.locator("section.group")).to_have_count(5)
    page.get_by_role("checkbox", name="include messages already labelled or in a gap").check()
    page.get_by_role("button", name="Show").click()
    expect(group(page, 1)).to_contain_text("labelled ask_pay_and_conditions")
    page.locator("header").get_by_role("link", name="Export").click()
    exported = page.locator("#yaml").inner_text()
    assert "- intent: ask_pay_and_conditions\n" in exported
    for text in PAY:
        assert f"    - {text}\n" in exported


def test_marking_a_gap_lists_it_for_the_careers_team(page: Page) -> None:
    log_in(page)
    second = group(page, 2)
    expect(second.get_by_role("heading")).to_contain_text("part time")
    second.get_by_label("Note for a new gap").fill("Part-time work: the page says nothing")
    second.get_by_role("button", name="Mark group 2 a content gap").click()
    expect(page.get_by_role("status")).to_have_text(
        "Put 2 messages in a content gap: see Content gaps."
    )
    # The next group can join the same gap, chosen from the list.
    first = group(page, 1)
    first.get_by_label("Content gap").select_option(
        label="#1: Part-time work: the page says nothing"
    )
    first.get_by_role("button", name="Mark group 1 a content gap").click()
    page.locator("header").get_by_role("link", name="Content gaps").click()
    row = page.locator("#gaps tbody tr").first
    expect(row).to_contain_text("Part-time work: the page says nothing")
    expect(row).to_contain_text("5 times")
    expect(row).to_contain_text(f"{TRAINER},")


def test_the_groups_download_as_csv(page: Page) -> None:
    log_in(page)
    with page.expect_download() as started:
        page.get_by_role("link", name="Download the groups (CSV)").click()
    download = started.value
    assert re.fullmatch(
        r"unanswered-\d{4}-\d\d-\d\d-to-\d{4}-\d\d-\d\d\.csv", download.suggested_filename
    )
    with open(download.path(), encoding="utf-8") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))
    assert [int(r["messages"]) for r in rows] == [3, 2, 1, 1, 1, 1]
    assert set(rows[0]["examples"].split(" | ")) == set(PAY)
    assert any(r["examples"].startswith("'=cmd") for r in rows)


def _tab_to(page: Page, target: Locator, limit: int = 150) -> None:
    """Press Tab until `target` has the focus (as someone without a mouse would)."""
    for _ in range(limit):
        if target.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def test_keyboard_only(page: Page) -> None:
    page.goto("/unanswered")
    _tab_to(page, page.get_by_label("Username"))
    page.keyboard.type(TRAINER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/unanswered$"))
    select = group(page, 1).get_by_label("Intent for these 3 messages")
    _tab_to(page, select)
    # The focus is visible: the NHS yellow outline.
    outline = select.evaluate("e => getComputedStyle(e).outlineColor")
    assert outline == "rgb(255, 235, 59)", outline
    page.keyboard.type("ask_pay_and")
    expect(select).to_have_value("ask_pay_and_conditions")
    page.keyboard.press("Tab")
    expect(group(page, 1).get_by_role("button", name="Label group 1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Labelled 3 messages")
    link = page.locator("header").get_by_role("link", name="Content gaps")
    _tab_to(page, link)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/gaps$"))


def test_no_serious_accessibility_violations(page: Page) -> None:
    log_in(page)
    group(page, 1).get_by_label("Note for a new gap").fill("Pay bands")
    group(page, 1).get_by_role("button", name="Mark group 1 a content gap").click()
    for path in ("/unanswered", "/unanswered?all=1", "/gaps", "/dashboard", "/logins"):
        page.goto(path)
        violations = run_axe(page)
        assert violations == [], (path, json.dumps(violations, indent=1)[:3000])


def test_the_report_shows_in_a_browser_without_fetching_anything(
    browser: Browser, unanswered_log: Path
) -> None:
    """The report's HTML as a mail client would show it: nothing requested from anywhere."""
    context = browser.new_context(viewport={"width": 700, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log = ConversationLog(make_engine(f"sqlite:///{unanswered_log}"))
    today = date.today()
    html = report.render_html(report.build(log, today - timedelta(days=6), today))
    log.engine.dispose()
    page.set_content(html)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "What people asked the careers assistant"
    )
    expect(page.get_by_text("what pay band is an assistant practitioner")).to_be_visible()
    assert requests == []
    assert run_axe(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review-report.png"), full_page=True)
    context.close()
