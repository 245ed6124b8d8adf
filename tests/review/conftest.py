"""The review console over a conversation log filled as the assistant fills it."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer
from playwright.sync_api import Browser, Page, sync_playwright
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet

from bot import serve, training
from bot.review.app import create_app, domain_intents
from bot.review.queries import ConversationLog, ConversationRow, Filters
from bot.settings import PROJECT_ROOT, Settings
from bot.store import Content, SqlRoleStore
from bot.store.sql import make_engine
from bot.tracking.store import MaskingTrackerStore
from bot.web.server import NODE_MODULES
from tests.rasa.conftest import Conversation
from tests.servers import free_port
from tests.tracking.helpers import (
    PERSONAL_MESSAGE,
    answer,
    converse,
    domain,
    feedback,
    fresh_log_url,
    user,
)

SECRET = "test-secret-" + "x" * 40
TRAINER = "trainer"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# scrypt's cost in tests that are not about it: 2^17 (production) takes ~0.5 s per login.
TEST_SCRYPT_N = 2**10


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_log_url(request, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'conversations.db'}"


# fill()'s conversations by their first message: the log keeps only a keyed hash of a sender.
FIRST_MESSAGES = {
    "alice": "what does an AP do",
    "bob": "blorf qwzx",
    "carol": "<script>",
    "dan": "roughly how many months",
}


def name_of(row: ConversationRow) -> str:
    """Which of fill()'s conversations `row` is."""
    return next(name for name, start in FIRST_MESSAGES.items() if row.preview.startswith(start))


def find(log: ConversationLog, name: str) -> ConversationRow:
    return next(r for r in log.conversations(Filters()).rows if name_of(r) == name)


async def fill(url: str) -> None:
    """Four conversations covering every filter: feedback, fallback, low confidence, channel."""
    store = MaskingTrackerStore(domain=domain(), host=url)
    await converse(
        store,
        "alice",
        [
            [user("what does an AP do", "ask_duties", 0.97), *answer()],
            feedback("not_helpful"),
        ],
    )
    await converse(
        store,
        "bob",
        [
            [
                user(
                    "blorf qwzx",
                    "nlu_fallback",
                    0.55,
                    ranking=[("nlu_fallback", 0.55), ("ask_overview", 0.32)],
                    channel="socketio",
                ),
                ActionExecuted("action_two_stage_fallback"),
                BotUttered("Sorry, I'm not sure I understood. Did you mean one of these?"),
                ActionExecuted("action_listen"),
            ]
        ],
    )
    await converse(
        store,
        "carol",
        [
            [
                user("<script>window.__xss = 1</script> how do I apply?", "ask_how_to_apply", 0.7),
                *answer("How to apply: ..."),
            ],
            feedback("helpful"),
        ],
    )
    await converse(
        store,
        "dan",
        [
            [
                user("roughly how many months is the AP course", "ask_training", 0.62),
                *answer("Training: ..."),
            ]
        ],
    )
    store.engine.dispose()


@pytest.fixture
def log(sqlite_url: str) -> Iterator[ConversationLog]:
    found = ConversationLog(make_engine(sqlite_url), scrypt_n=TEST_SCRYPT_N)
    found.create_tables()
    yield found
    found.engine.dispose()


@pytest.fixture
def app(log: ConversationLog, sqlite_url: str) -> web.Application:
    settings = Settings(tracker_store_url=sqlite_url, review_secret=SECRET)
    log.set_trainer(TRAINER, PASSWORD)
    return create_app(settings, log=log, intents=domain_intents())


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app)) as found:
        yield found


async def log_in(client: TestClient, password: str = PASSWORD) -> ClientResponse:
    form = await (await client.get("/login")).text()
    token = CSRF.search(form)
    assert token is not None
    return await client.post(
        "/login",
        data={"username": TRAINER, "password": password, "csrf_token": token.group(1), "next": "/"},
        allow_redirects=False,
    )


async def csrf_token(client: TestClient, path: str = "/") -> str:
    found = CSRF.search(await (await client.get(path)).text())
    assert found is not None
    return found.group(1)


def turn(text: str, intent: str, action: str, at: float, confidence: float = 0.9) -> list[Event]:
    """A user message at `at` (seconds since the epoch) and what the assistant did about it."""
    return [
        user(text, intent, confidence, timestamp=at),
        ActionExecuted(action, timestamp=at + 0.1),
        BotUttered(f"(reply of {action})", timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


def rating(value: str, at: float) -> list[Event]:
    return [
        user(f"/feedback_{value}", f"feedback_{value}", 1.0, timestamp=at),
        ActionExecuted("action_record_feedback", timestamp=at + 0.1),
        SlotSet("feedback", value, timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


DAY = 86400.0
# What fill_unanswered's log holds that the assistant could not answer in the last week.
UNANSWERED_THIS_WEEK = {
    "what pay band is an assistant practitioner": {"not_on_page"},
    "What band are radiography assistants on?": {"not_on_page"},
    "what pay band are imaging support workers": {"not_on_page"},
    "can I work part time": {"fallback"},
    "is part time work possible": {"fallback"},
    "what's the weather like in leeds": {"out_of_scope"},
    "what does an AP do": {"not_helpful"},
    '=cmd|"/c calc"!A1 uniform': {"not_on_page"},
    "<script>window.__xss = 1</script> do you have parking": {"out_of_scope"},
}


async def fill_unanswered(url: str) -> None:
    """Conversations over the last weeks with every way of not answering, and answers."""
    store = MaskingTrackerStore(domain=domain(), host=url)
    now = time.time()
    talks: dict[str, list[list[Event]]] = {
        "pay1": [
            turn(
                "what pay band is an assistant practitioner",
                "ask_pay",
                "action_not_on_page",
                now - 2 * DAY,
            )
        ],
        "pay2": [
            turn(
                "What band are radiography assistants on?",
                "ask_pay",
                "action_not_on_page",
                now - DAY,
            )
        ],
        "pay3": [
            turn(
                "what pay band are imaging support workers",
                "ask_pay",
                "action_not_on_page",
                now - 3 * DAY,
            )
        ],
        "part1": [
            turn(
                "can I work part time", "nlu_fallback", "action_two_stage_fallback", now - DAY, 0.4
            ),
            turn("/deny", "deny", "action_default_ask_rephrase", now - DAY + 20),
        ],
        "part2": [
            turn(
                "is part time work possible",
                "nlu_fallback",
                "action_default_fallback",
                now - 2 * DAY,
                0.3,
            )
        ],
        "weather": [
            turn(
                "what's the weather like in leeds",
                "out_of_scope",
                "utter_out_of_scope",
                now - 4 * DAY,
            )
        ],
        "rated": [
            turn("what does an AP do", "ask_duties", "action_answer_topic", now - 5 * DAY),
            rating("not_helpful", now - 5 * DAY + 10),
        ],
        "answered": [
            turn("how do I apply", "ask_how_to_apply", "action_answer_topic", now - DAY),
            rating("helpful", now - DAY + 10),
        ],
        "formula": [turn('=cmd|"/c calc"!A1 uniform', "ask_pay", "action_not_on_page", now - DAY)],
        "script": [
            turn(
                "<script>window.__xss = 1</script> do you have parking",
                "out_of_scope",
                "utter_out_of_scope",
                now - DAY,
            )
        ],
        "old": [
            turn(
                "what pay band is an assistant practitioner",
                "ask_pay",
                "action_not_on_page",
                now - 40 * DAY,
            )
        ],
    }
    for sender, turns in talks.items():
        await converse(store, sender, turns)
    store.engine.dispose()


# --- headless Chromium (Debian's, driven by Playwright) ---------------------------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield found
        found.close()


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core from the careers page's node_modules (no CDN), run in the page; the serious
    and critical violations. The console's CSP allows no script: Playwright's evaluate is not
    a page script, so it still runs."""
    page.evaluate((NODE_MODULES / "axe-core" / "axe.min.js").read_text() + "\n;0")
    results: dict[str, Any] = page.evaluate("() => axe.run(document)")
    return [v for v in results["violations"] if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="session")
def unanswered_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """fill_unanswered's log with a trainer account, made once; tests work on copies."""
    root = tmp_path_factory.mktemp("unanswered")
    url = f"sqlite:///{root / 'conversations.db'}"
    asyncio.run(fill_unanswered(url))
    subprocess.run(
        [sys.executable, "-m", "bot", "review", "add-user", TRAINER, "--password-stdin"],
        input=PASSWORD + "\n",
        env={**serve.base_env(), "TRACKER_STORE_URL": url},
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return root / "conversations.db"


@pytest.fixture
def unanswered_console(unanswered_log: Path, tmp_path: Path) -> Iterator[str]:
    """The console, started as `make review` starts it, over a fresh copy of that log."""
    copy = tmp_path / "conversations.db"
    shutil.copy(unanswered_log, copy)
    env = {"TRACKER_STORE_URL": f"sqlite:///{copy}", "REVIEW_SECRET": SECRET}
    logs = PROJECT_ROOT / "test-artifacts" / "logs"
    with serve.review_console(free_port(), log_dir=logs, extra_env=env) as url:
        yield url


# --- the real assistant, logging to a temp file, and the console started as `make run` does --


@dataclass(frozen=True)
class Live:
    console_url: str
    log_url: str
    senders: dict[str, str]


def _talk(running: serve.Running, run_id: str) -> dict[str, str]:
    """Real conversations through the REST channel; returns the sender id of each."""
    scripts = {
        "personal": [PERSONAL_MESSAGE],
        "unhelpful": ["what does an assistant practitioner do?", "/feedback_not_helpful"],
        "helpful": ["how do I apply to be an imaging support worker?", "/feedback_helpful"],
        "script": [
            "<script>window.__xss = 1; alert(1)</script> how do I apply to be a radiography "
            "assistant?"
        ],
        "nonsense": ["qwzx blorf zzzt"],
    }
    senders = {}
    for name, messages in scripts.items():
        senders[name] = f"{name}-{run_id}"
        chat = Conversation(running, senders[name])
        for message in messages:
            chat.say(message)
    return senders


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Iterator[Live]:
    if not training.MODEL_PATH.exists():
        pytest.fail("there is no trained model: run `make train` first")
    root = tmp_path_factory.mktemp("live")
    role_url = f"sqlite:///{root / 'roles.db'}"
    SqlRoleStore(role_url).load(content)
    log_url = f"sqlite:///{root / 'conversations.db'}"
    env = {"TRACKER_STORE_URL": log_url, "ROLE_STORE_URL": role_url, "REVIEW_SECRET": SECRET}
    ports = serve.Ports(rasa=free_port(), actions=free_port(), review=free_port())
    logs = PROJECT_ROOT / "test-artifacts" / "logs"
    with serve.assistant(ports, training.MODEL_PATH, log_dir=logs, extra_env=env) as running:
        senders = _talk(running, uuid.uuid4().hex[:8])
    subprocess.run(
        [sys.executable, "-m", "bot", "review", "add-user", TRAINER, "--password-stdin"],
        input=PASSWORD + "\n",
        env={**serve.base_env(), **env},
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    with serve.review_console(ports.review, log_dir=logs, extra_env=env) as url:
        yield Live(url, log_url, senders)
