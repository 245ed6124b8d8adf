"""Make the pictures of docs/review-console.md in docs/img/: the Unanswered page, the report,
and each step of the trainers' loop (a relabelled message, Save as a test, the Tests page, the
Models page, a compared candidate, a refused one, the page after a promotion).

Throw-away logs are filled with made-up conversations (two weeks of realistic questions the
page does not answer, answered ones, ratings; a message the assistant misunderstood), two
content gaps are marked, the model registry's rows are written as the `python -m bot model`
commands write them (no model is trained: the archives are stand-ins), the console is started
as `make review` starts it, and Debian's headless Chromium takes the pictures, reduced to 64
colours to keep them small. Nothing personal or secret is in them: the conversations are made
up, and the console's secret and the trainer's password are made here and thrown away.

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from PIL import Image  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from review_console import ROLES, UNANSWERABLE, write_conversation  # noqa: E402

from bot import serve  # noqa: E402
from bot.registry.records import DONE, LIVE, PROMOTE, TRAINING, Paths, Registry  # noqa: E402
from bot.review import conversations_page, report, unanswered_page  # noqa: E402
from bot.review.conversations_page import Filters  # noqa: E402
from bot.review.database import ConversationLog  # noqa: E402
from bot.review.grouping import group  # noqa: E402
from bot.store.sql import make_engine  # noqa: E402
from bot.tracking.store import MaskingTrackerStore  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS  # noqa: E402
from tests.support.registry import compared_candidate  # noqa: E402
from tests.support.servers import free_port  # noqa: E402
from tests.support.tracking import converse, domain, user  # noqa: E402

IMG = ROOT / "docs" / "img"
TRAINER, PASSWORD = "alice", "a long docs password"
SECRET = "docs-" + "x" * 40
MISUNDERSTOOD = "who vouches for an AP"
FALLBACK = "Sorry, I'm not sure I understood. Did you mean one of these?"
TRAINING_ID, PROMOTABLE_ID, REFUSED_ID = (
    "20261203-111500-7c1e",
    "20261203-101500-a1b2",
    "20261203-091500-0123",
)
REASON = "emergency st-chest-pain-gym ('guy at the gym ...') is no longer told to call 999"
ANSWERED = [
    ("what does an assistant practitioner do", "ask_duties"),
    ("how do I become a radiography assistant", "ask_how_to_apply"),
    ("what qualifications do I need for imaging support work", "ask_entry_requirements"),
    ("is there an apprenticeship for assistant practitioners", "ask_training"),
]
GARBLED = ["wat r the hrs", "radiograpy aprentiship??", "cn i do it wiv no gcse", "x ray job uni"]


def _turn(text: str, intent: str, action: str, at: float) -> list[Event]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    return [
        UserUttered(
            text, parse["intent"], [], parse_data=parse, timestamp=at, input_channel="rest"
        ),
        ActionExecuted(action, timestamp=at + 0.1),
        BotUttered("(reply)", timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


def _rating(value: str, at: float) -> list[Event]:
    intent = {"name": f"feedback_{value}", "confidence": 1.0}
    return [
        UserUttered(f"/feedback_{value}", intent, timestamp=at, input_channel="rest"),
        ActionExecuted("action_record_feedback", timestamp=at + 0.1),
        SlotSet("feedback", value, timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


def fill(log: ConversationLog, count: int = 300, seed: int = 3) -> None:
    rng = random.Random(seed)
    now = time.time()
    with log.session() as session:
        for number in range(count):
            at = now - rng.uniform(0, 13 * 86400)
            events: list[Event] = []
            for _ in range(rng.randint(1, 3)):
                at += rng.uniform(20, 120)
                roll = rng.random()
                if roll < 0.35:
                    wording, action = rng.choice(UNANSWERABLE)
                    text = wording.format(role=rng.choice(ROLES)) + rng.choice(["", "?"])
                    events += _turn(text, "ask_pay_and_conditions", action, at)
                elif roll < 0.42:
                    text = rng.choice(GARBLED)
                    events += _turn(text, "nlu_fallback", "action_two_stage_fallback", at)
                else:
                    text, intent = rng.choice(ANSWERED)
                    events += _turn(text, intent, "action_answer_topic", at)
                    if rng.random() < 0.4:
                        value = "not_helpful" if rng.random() < 0.25 else "helpful"
                        events += _rating(value, at + 10)
            write_conversation(session, f"docs-{number:04d}", events)


def main() -> int:
    today = date.today()
    with tempfile.TemporaryDirectory(prefix="review-docs-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'conversations.db'}"
        log = ConversationLog(make_engine(url))
        log.create_tables()
        fill(log)
        groups = group(unanswered_page.unanswered(log, today - timedelta(days=29), today))
        notes = {
            "shift": "Shift patterns, nights and weekends: the page says nothing",
            "band": "Pay bands and salaries: not on the page (Agenda for Change bands?)",
        }
        for word, note in notes.items():
            found = next(g for g in groups if any(word in e for e in g.examples))
            unanswered_page.mark_gap(log, found.ids, "alice", note=note)
        env = {"TRACKER_STORE_URL": url, "REVIEW_SECRET": SECRET}
        add_trainer(env)
        loop_url = loop_log(Path(tmp))
        html = report.render_html(report.build(log, today - timedelta(days=6), today))
        with (
            serve.review_console(free_port(), extra_env=env) as console,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(base_url=console, viewport={"width": 1280, "height": 1500})
            log_in(page, "/unanswered")
            shoot(page, "unanswered.png")
            page.set_viewport_size({"width": 700, "height": 900})
            page.set_content(html)
            shoot(page, "report.png", full_page=True)
            trainers_loop(browser, loop_url, Path(tmp))
            browser.close()
        log.engine.dispose()
    print(f"Wrote {', '.join(sorted(p.name for p in IMG.glob('*.png')))} in {IMG}.")
    return 0


def add_trainer(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot", "review", "add-user", TRAINER, "--password-stdin"],
        input=PASSWORD + "\n",
        env={**serve.base_env(), **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


def log_in(page: Page, path: str) -> None:
    page.goto(path)
    page.get_by_label("Username").fill(TRAINER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{path}")


def shoot(page: Page, name: str, full_page: bool = False) -> None:
    """A PNG in docs/img/, reduced to 64 colours (a console page is a few flat colours)."""
    IMG.mkdir(exist_ok=True)
    path = IMG / name
    page.screenshot(path=str(path), full_page=full_page)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


async def misunderstood(url: str) -> None:
    """A visitor's message the live model could not place, answered with the fallback."""
    store = MaskingTrackerStore(domain=domain(), host=url)
    ranking = [("nlu_fallback", 0.55), ("ask_overview", 0.21), ("ask_accreditation", 0.18)]
    await converse(
        store,
        "docs-visitor",
        [
            [
                user(MISUNDERSTOOD, "nlu_fallback", 0.55, ranking=ranking),
                ActionExecuted("action_two_stage_fallback"),
                BotUttered(FALLBACK),
                ActionExecuted("action_listen"),
            ]
        ],
    )
    store.engine.dispose()


def loop_log(tmp: Path) -> str:
    """The loop's log, filled before Chromium starts (its sync API runs an event loop)."""
    url = f"sqlite:///{tmp / 'loop.db'}"
    asyncio.run(misunderstood(url))
    return url


def trainers_loop(browser: Browser, url: str, tmp: Path) -> None:
    """The loop's steps, each photographed: the trainer relabels the misunderstood message,
    saves the conversation as a test; the Models page with a candidate training, a compared
    candidate (promotable), a refused one; the Models page after the promotion."""
    models_dir = tmp / "models"
    models_dir.mkdir()
    (models_dir / "careers.tar.gz").write_bytes(b"the live model (a stand-in)")
    registry = Registry(make_engine(url), Paths(models_dir))
    registry.create_tables()
    env = {"TRACKER_STORE_URL": url, "REVIEW_SECRET": SECRET, "MODELS_DIR": str(models_dir)}
    add_trainer(env)
    with serve.review_console(free_port(), extra_env=env) as console:
        page = browser.new_page(base_url=console, viewport={"width": 1100, "height": 760})
        log_in(page, "/")
        [row] = conversations_page.conversations(ConversationLog(registry.engine), Filters()).rows
        page.goto(f"/conversations/{row.id}")
        page.get_by_label("Right intent").select_option("ask_accreditation")
        page.get_by_role("button", name="Save label").click()
        page.locator(".turn.user").first.scroll_into_view_if_needed()
        shoot(page, "loop-1-relabel.png")

        page.get_by_role("link", name="Save as a test").click()
        page.get_by_label("Must contain (every line)").fill("Society of Radiographers")
        shoot(page, "loop-2-save-test.png")
        page.get_by_role("button", name="Save test").click()
        shoot(page, "loop-3-tests.png")

        registry.add_model(
            TRAINING_ID,
            origin="candidate",
            status=TRAINING,
            created_by=TRAINER,
            stage="training DIETClassifier: epoch 9 of 30",
            progress=0.3,
            labels=1,
            new_labels=1,
            pid=os.getpid(),
            host=socket.gethostname(),
        )
        compared_candidate(registry, PROMOTABLE_ID, b"a candidate (a stand-in)")
        compared_candidate(registry, REFUSED_ID, b"a refused one (a stand-in)", [REASON])
        registry.register_instance(
            "http://127.0.0.1:5005", socket.gethostname(), os.getpid(), True, "careers.tar.gz"
        )
        page.goto("/models")
        shoot(page, "loop-4-models.png")
        page.goto(f"/models/{PROMOTABLE_ID}")
        shoot(page, "loop-5-compared.png", full_page=True)
        page.goto(f"/models/{REFUSED_ID}")
        shoot(page, "loop-6-refused.png")

        # What `python -m bot model promote` leaves (no Rasa was switched: a picture only).
        registry.update_model(TRAINING_ID, status="failed", error="stopped for the pictures")
        switch_id = registry.start_switch(PROMOTE, PROMOTABLE_ID, None, TRAINER)
        registry.finish_switch(switch_id, DONE, "1 instance(s) switched: http://127.0.0.1:5005")
        (models_dir / "careers.tar.gz").write_bytes(
            registry.paths.archive(PROMOTABLE_ID).read_bytes()
        )
        registry.update_model(PROMOTABLE_ID, status=LIVE)
        page.goto("/models")
        page.get_by_role("heading", name="Promotions and rollbacks").scroll_into_view_if_needed()
        shoot(page, "loop-7-promoted.png")
        page.close()
    registry.engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
