"""The Models pages in headless Chromium (issue 21): logging in to them, a training's progress,
a comparison side by side, a promotion refused with its reason, each page axe clean (so a
page reloads itself only when the trainer asks it to: axe's meta-refresh rule).

The console runs as `make review` runs it, over a log and a models folder of the test's own;
the registry's rows are written as `python -m bot model candidate` and `compare` write them
(this process stands in for the training's, so the console sees it running)."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot import serve
from bot.db import make_engine
from bot.registry.records import TRAINING, Paths, Registry
from tests.support.browser import console_page, record_dialogs, run_axe
from tests.support.registry import compared_candidate
from tests.support.review import PASSWORD, SECRET, TRAINER, add_trainer
from tests.support.servers import ARTIFACTS, free_port

TRAINING_ID = "20261203-101500-abcd"
REFUSED_ID = "20261203-091500-0123"
REASON = "emergency st-chest-pain-gym ('guy at the gym ...') is no longer told to call 999"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    url = f"sqlite:///{tmp_path / 'conversations.db'}"
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "careers.tar.gz").write_bytes(b"the live model")
    found = Registry(make_engine(url), Paths(models_dir))
    found.create_tables()
    yield found
    found.engine.dispose()


@pytest.fixture
def page(browser: Browser, registry: Registry) -> Iterator[Page]:
    env = {
        "TRACKER_STORE_URL": str(registry.engine.url),
        "REVIEW_SECRET": SECRET,
        "MODELS_DIR": str(registry.paths.models_dir),
    }
    add_trainer(env)
    with (
        serve.review_console(free_port(), log_dir=ARTIFACTS / "logs", extra_env=env) as url,
        console_page(browser, url) as found,
    ):
        yield found


def test_progress_comparison_and_a_refused_promotion(page: Page, registry: Registry) -> None:
    dialogs = record_dialogs(page)
    registry.add_model(
        TRAINING_ID,
        origin="candidate",
        status=TRAINING,
        created_by="alice",
        stage="training DIETClassifier: epoch 12 of 30",
        progress=0.4,
        pid=os.getpid(),
        host=socket.gethostname(),
    )
    compared_candidate(registry, REFUSED_ID, b"refused", refusals=[REASON])

    page.goto("/models")
    expect(page).to_have_url(re.compile(r"/login\?next=(%2F|/)models$"))
    page.get_by_label("Username").fill(TRAINER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/models$"))
    expect(page.locator("#live")).to_contain_text("careers.tar.gz")
    expect(page.locator(f"#model-{TRAINING_ID}")).to_contain_text("epoch 12 of 30")
    expect(page.get_by_role("button", name="Train a candidate")).to_have_count(0)  # one at a time
    assert run_axe(page) == []

    page.locator(f"#model-{TRAINING_ID} a").click()
    expect(page.get_by_role("status")).to_have_text("training DIETClassifier: epoch 12 of 30 (40%)")
    assert run_axe(page) == []

    page.get_by_role("link", name="reload it every 3 seconds").click()
    later = "training DIETClassifier: epoch 24 of 30"
    registry.update_model(TRAINING_ID, stage=later, progress=0.8)
    expect(page.get_by_role("status")).to_contain_text("epoch 24 of 30 (80%)")  # it reloaded
    page.get_by_role("link", name="Stop reloading").click()
    expect(page.get_by_role("link", name="reload it every 3 seconds")).to_be_visible()

    page.goto(f"/models/{REFUSED_ID}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Model {REFUSED_ID}")
    expect(page.locator("body")).to_contain_text("Promotion refused:")
    expect(page.locator("body")).to_contain_text("is no longer told to call 999")
    expect(page.locator("#promote-refused")).to_contain_text("Not promotable")
    expect(page.get_by_role("button", name=f"Promote {REFUSED_ID}")).to_have_count(0)
    expect(page.locator("body")).to_contain_text("saved-1-do-i-help-with-tissue-samples")
    expect(page.locator("body")).to_contain_text("main jobs of a radiology assistant?")
    assert run_axe(page) == []
    assert dialogs == []
