"""Make docs/unanswered.png and docs/report.png: the Unanswered page and the report.

A throw-away log is filled with two weeks of made-up conversations (realistic questions the
page does not answer, answered ones, ratings), two content gaps are marked, the console is
started as `make review` starts it, and Debian's headless Chromium takes the pictures.

    .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from playwright.sync_api import sync_playwright  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from review_console import ROLES, UNANSWERABLE, write_conversation  # noqa: E402

from bot import serve  # noqa: E402
from bot.review import report  # noqa: E402
from bot.review.grouping import group  # noqa: E402
from bot.review.queries import ConversationLog  # noqa: E402
from bot.store.sql import make_engine  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

DOCS = ROOT / "docs"
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
        groups = group(log.unanswered(today - timedelta(days=29), today))
        notes = {
            "shift": "Shift patterns, nights and weekends: the page says nothing",
            "band": "Pay bands and salaries: not on the page (Agenda for Change bands?)",
        }
        for word, note in notes.items():
            found = next(g for g in groups if any(word in e for e in g.examples))
            log.mark_gap(found.ids, "alice", note=note)
        env = {"TRACKER_STORE_URL": url, "REVIEW_SECRET": "docs-" + "x" * 40}
        subprocess.run(
            [sys.executable, "-m", "bot", "review", "add-user", "alice", "--password-stdin"],
            input="a long docs password\n",
            env={**serve.base_env(), **env},
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        html = report.render_html(report.build(log, today - timedelta(days=6), today))
        with (
            serve.review_console(free_port(), extra_env=env) as console,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(base_url=console, viewport={"width": 1280, "height": 1500})
            page.goto("/unanswered")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill("a long docs password")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/unanswered")
            page.screenshot(path=str(DOCS / "unanswered.png"))
            page.set_viewport_size({"width": 700, "height": 900})
            page.set_content(html)
            page.screenshot(path=str(DOCS / "report.png"), full_page=True)
            browser.close()
        log.engine.dispose()
    print(f"Wrote {DOCS / 'unanswered.png'} and {DOCS / 'report.png'}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
