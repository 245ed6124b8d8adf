"""The Tests pages in headless Chromium (issue 21): from a transcript, Save as a test (the
turns to keep, the pre-filled phrases, edited), the list of saved tests, an edit and the
download, each page axe clean.

The console runs as `make review` runs it, over a log of the test's own holding one
conversation logged as Rasa logs it (a phone number in it, masked)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from bot import serve
from tests.support.browser import console_page, record_dialogs, run_axe
from tests.support.review import PASSWORD, SECRET, TRAINER, add_trainer, fill_saveable
from tests.support.servers import ARTIFACTS, free_port


@pytest.fixture(scope="session")
def saveable_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Filled before Chromium starts (its sync API runs an event loop in this thread)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('saveable') / 'conversations.db'}"
    asyncio.run(fill_saveable(url))
    return url


@pytest.fixture
def page(browser: Browser, saveable_log: str, role_store_url: str) -> Iterator[Page]:
    env = {
        "TRACKER_STORE_URL": saveable_log,
        "REVIEW_SECRET": SECRET,
        "ROLE_STORE_URL": role_store_url,
    }
    add_trainer(env)
    with (
        serve.review_console(free_port(), log_dir=ARTIFACTS / "logs", extra_env=env) as console,
        console_page(browser, console) as found,
    ):
        yield found


def test_save_a_conversation_as_a_test_list_edit_and_download(page: Page) -> None:
    dialogs = record_dialogs(page)
    page.goto("/tests")
    page.get_by_label("Username").fill(TRAINER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/tests$"))
    expect(page.locator("#count")).to_have_text("0 test conversations")
    assert run_axe(page) == []

    page.goto("/")
    page.locator("tr", has_text="what does an AP do all day").get_by_role("link").click()
    page.get_by_role("link", name="Save as a test").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("as a test")
    # Both typed turns (not the button press), the number masked as it was logged.
    expect(page.locator("#turns li")).to_have_count(2)
    expect(page.locator("#turns")).to_contain_text("call me on [phone]")
    expect(page.get_by_label("Must contain (every line)")).to_have_value(
        "need further qualifications"
    )
    expect(page.get_by_label("Must not contain (no line)")).to_contain_text(
        "no formal entry requirements"
    )
    assert run_axe(page) == []

    page.get_by_label("Keep the first").select_option("1")
    page.get_by_role("button", name="Show these turns").click()
    expect(page.locator("#turns li")).to_have_count(1)
    expect(page.locator("#reply")).to_contain_text("Processing film images")
    page.get_by_label("Must contain (every line)").fill("processing film images")
    page.get_by_role("button", name="Save test").click()

    expect(page).to_have_url(re.compile(r"/tests\?saved=\d+#test-\d+$"))
    expect(page.get_by_role("status")).to_contain_text("Saved test")
    expect(page.locator("#count")).to_have_text("1 test conversation")
    section = page.locator("section.group")
    expect(section.get_by_role("heading", level=2)).to_have_text(
        re.compile(r"saved-\d+-what-does-an-ap-do-all-day \(fact\)")
    )
    expect(section.locator("ol li")).to_have_text(["what does an AP do all day"])
    assert run_axe(page) == []

    section.get_by_label("Must contain").fill("processing film images\npreparing patients")
    section.get_by_role("button", name=re.compile("Save changes to test")).click()
    expect(page.get_by_label("Must contain")).to_have_value(
        "processing film images\npreparing patients"
    )

    with page.expect_download() as download:
        page.get_by_role("link", name="Download saved_conversations.yml").click()
    exported = yaml.safe_load(Path(download.value.path()).read_text())
    [case] = exported["cases"]
    assert case["turns"] == ["what does an AP do all day"]
    assert case["expect"]["all"] == ["processing film images", "preparing patients"]
    assert dialogs == []
