"""The review console's test data: logs filled as the assistant fills them, a trainer's
account, and logging in (through aiohttp's test client)."""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SlotSet

from bot import serve
from bot.db import make_engine
from bot.review import conversations_page
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog, ConversationRow
from bot.tracking.store import MaskingTrackerStore
from tests.support.http import Conversation, Reply, request
from tests.support.servers import bot_command
from tests.support.tracking import PERSONAL_MESSAGE, answer, converse, domain, feedback, user

SECRET = "test-secret-" + "x" * 40
TRAINER = "trainer"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# scrypt's cost in tests that are not about it: 2^17 (production) takes ~0.5 s per login.
TEST_SCRYPT_N = 2**10


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
    return next(
        r for r in conversations_page.conversations(log, Filters()).rows if name_of(r) == name
    )


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


async def log_in(
    client: TestClient, password: str = PASSWORD, next_page: str = "/", form_page: str = "/login"
) -> ClientResponse:
    """Fetch the login form at `form_page`, then post it (see post_login)."""
    form = await (await client.get(form_page)).text()
    return await post_login(client, form, password, next_page)


async def post_login(
    client: TestClient, form: str, password: str = PASSWORD, next_page: str = "/"
) -> ClientResponse:
    """Post the login form with the CSRF token found in `form`, the login page's HTML."""
    token = CSRF.search(form)
    assert token is not None
    return await client.post(
        "/login",
        data={
            "username": TRAINER,
            "password": password,
            "csrf_token": token.group(1),
            "next": next_page,
        },
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


AP_ENTRY = (
    "Entry requirements for assistant practitioners:\n"
    "Assistant practitioners will usually need further qualifications."
)
DUTIES = "\n".join(
    [
        "What assistant practitioners do:",
        "- Processing film images.",
        "- Preparing patients for treatment.",
    ]
)


async def fill_saveable(url: str) -> None:
    """A two-turn conversation, a button press between the turns, logged as Rasa logs it."""
    store = MaskingTrackerStore(domain=domain(), host=url)
    await converse(
        store,
        "erin",
        [
            [user("what does an AP do all day", "ask_duties", 0.91), *answer(DUTIES)],
            [user("/feedback_helpful", "feedback_helpful", 1.0)],
            [
                user("and what do they need to get in, call me on 07700 900123", "ask_x", 0.4),
                *answer(AP_ENTRY),
            ],
        ],
    )
    store.engine.dispose()


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


@dataclass(frozen=True)
class Live:
    console_url: str
    log_url: str
    senders: dict[str, str]


def talk(running: serve.Running, run_id: str) -> dict[str, str]:
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
        chat = Conversation(running.rasa_url, senders[name])
        for message in messages:
            chat.say(message)
    return senders


def add_trainer(env: dict[str, str]) -> None:
    """The trainer's account, made as a trainer makes it: `python -m bot review add-user`."""
    done = bot_command(
        "review", "add-user", TRAINER, "--password-stdin", env=env, input=PASSWORD + "\n"
    )
    assert done.returncode == 0, done.stderr


@asynccontextmanager
async def console_log(
    url: str, filled_by: Callable[[str], Awaitable[None]] | None = None
) -> AsyncIterator[ConversationLog]:
    """The console's view of the log at `url` (filled first by `filled_by`), its own tables
    made; its engine disposed of at the end."""
    if filled_by is not None:
        await filled_by(url)
    found = ConversationLog(make_engine(url))
    found.create_tables()
    try:
        yield found
    finally:
        found.engine.dispose()


class ConsoleSession:
    """A trainer logged in to a running console (`serve.review_console`) over HTTP, as a
    browser is: the cookies it is given kept, a form posted with the CSRF token of its page."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.cookies: dict[str, str] = {}

    def send(self, path: str, fields: dict[str, str] | None = None) -> Reply:
        """GET `path`, or POST `fields` to it; redirects are not followed."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        reply = request(self.url + path, "POST" if fields is not None else "GET", body, headers)
        for cookie in reply.header_values("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";")[0]
        return reply

    def submit(self, page: str, action: str, fields: dict[str, str]) -> Reply:
        """Post `fields` to `action` as the form on `page` does (its CSRF token added)."""
        token = CSRF.search(self.send(page).body)
        assert token is not None, f"no form on {page}"
        return self.send(action, {**fields, "csrf_token": token.group(1)})

    def log_in(self) -> None:
        done = self.submit(
            "/login", "/login", {"username": TRAINER, "password": PASSWORD, "next": "/"}
        )
        assert done.status == 303, done
