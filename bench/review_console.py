"""Benchmark: the review console's list, filter, transcript, dashboard and Unanswered page on
10,000 synthetic conversations.

The log is filled through the tracker store's own code path (masking, event rows, index rows)
in a temporary SQLite file, or in the database --url names. Every query is run --repeat
times; the medians are printed with their ratio to the baseline, the unfiltered first page,
measured in the same run (absolute numbers mean little on a shared, noisy machine).

    .venv/bin/python bench/review_console.py [--conversations 10000] [--repeat 15] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from bot.db import now
from bot.review import (
    conversations_page,
    dashboard_page,
    logins_page,
    transcript_page,
    unanswered_page,
)
from bot.review.app import create_app
from bot.review.console import domain_intents
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.review.grouping import group
from bot.settings import Settings
from bot.store import TOPIC_TABLE
from bot.store.sql import make_engine
from bot.tracking.indexer import index_events
from bot.tracking.masking import mask_event
from bot.tracking.store import EVENTS, sqlite_pragmas

INTENTS = [
    *(t.intent for t in TOPIC_TABLE),
    "compare_roles",
    "list_roles",
    "ask_pay_and_conditions",
    "greet",
    "thank",
    "goodbye",
    "out_of_scope",
]
WORDS = [
    "what", "does", "an", "assistant", "practitioner", "do", "how", "long", "is", "training",
    "for", "imaging", "support", "workers", "entry", "requirements", "gcse", "apprenticeship",
    "radiography", "accredited", "society", "pay", "band", "hours", "apply", "job", "hospital",
    "patients", "x-ray", "scanner", "nvq", "level", "qualifications", "career", "progression",
]  # fmt: skip
DAYS = 90
# Questions the page does not answer, in several wordings, with a role or filler word added:
# what the Unanswered page groups (the random word salad above is its worst case).
UNANSWERABLE = [
    ("what pay band is {role}", "action_not_on_page"),
    ("how much do {role} earn", "action_not_on_page"),
    ("what is the salary for {role}", "action_not_on_page"),
    ("what band are {role} on", "action_not_on_page"),
    ("can {role} work part time", "action_not_on_page"),
    ("are there part-time jobs for {role}", "action_not_on_page"),
    ("do {role} work nights or weekends", "action_not_on_page"),
    ("what shifts do {role} work", "action_not_on_page"),
    ("are there {role} jobs in leeds", "action_not_on_page"),
    ("where can I find {role} vacancies near me", "action_not_on_page"),
    ("do {role} get a uniform", "action_not_on_page"),
    ("is there parking at the hospital", "utter_out_of_scope"),
    ("what's the weather like today", "utter_out_of_scope"),
    ("can you book me a GP appointment", "utter_out_of_scope"),
    ("tell me a joke", "utter_out_of_scope"),
]
ROLES = ["an assistant practitioner", "radiography assistants", "imaging support workers", "APs"]


def synthetic_conversation(rng: random.Random, start: float) -> list[Event]:
    events: list[Event] = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),
    ]
    moment = start
    channel = "rest" if rng.random() < 0.7 else "socketio"
    for _ in range(rng.randint(1, 6)):
        moment += rng.uniform(5, 90)
        text = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
        if rng.random() < 0.02:
            text += " my email is someone@example.com"
        if rng.random() < 0.06:
            wording, action = rng.choice(UNANSWERABLE)
            text = wording.format(role=rng.choice(ROLES)) + rng.choice(["", "?", " please"])
            intent = "ask_pay_and_conditions" if action == "action_not_on_page" else "out_of_scope"
            said = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
            events += [
                UserUttered(
                    text, said["intent"], [], parse_data=said, input_channel=channel,
                    timestamp=moment,
                ),
                ActionExecuted(action, timestamp=moment + 0.1),
                BotUttered("Sorry, the page doesn't cover that.", timestamp=moment + 0.2),
                ActionExecuted("action_listen", timestamp=moment + 0.3),
            ]  # fmt: skip
            continue
        confidence = rng.betavariate(5, 1.5)
        intent = rng.choice(INTENTS)
        ranking = [{"name": intent, "confidence": confidence}]
        shown = {"name": intent, "confidence": confidence}
        if confidence < 0.55:
            shown = {"name": "nlu_fallback", "confidence": 0.55}
            ranking.insert(0, shown)
        parse = {"text": text, "intent": shown, "entities": [], "intent_ranking": ranking}
        events.append(
            UserUttered(text, shown, [], parse_data=parse, input_channel=channel, timestamp=moment)
        )
        name = "action_two_stage_fallback" if shown["name"] == "nlu_fallback" else "action_x"
        events += [
            ActionExecuted(name, timestamp=moment + 0.1),
            BotUttered("An answer with a source link.", timestamp=moment + 0.2),
            ActionExecuted("action_listen", timestamp=moment + 0.3),
        ]
        if rng.random() < 0.15:
            value = "not_helpful" if rng.random() < 0.35 else "helpful"
            events += [
                UserUttered(
                    f"/feedback_{value}",
                    {"name": f"feedback_{value}", "confidence": 1.0},
                    input_channel=channel,
                    timestamp=moment + 5,
                ),
                ActionExecuted("action_record_feedback", timestamp=moment + 5.1),
                SlotSet("feedback", value, timestamp=moment + 5.2),
                ActionExecuted("action_listen", timestamp=moment + 5.3),
            ]
    return events


def write_conversation(session: Any, sender: str, events: list[Event]) -> Any:
    """Store one conversation's events as the tracker store does (masked, then indexed)."""
    rows = []
    for event in events:
        data = mask_event(event.as_dict())
        inserted = session.execute(
            EVENTS.insert().values(
                sender_id=sender,
                type_name=event.type_name,
                timestamp=data.get("timestamp"),
                action_name=data.get("name"),
                data=json.dumps(data),
            )
        )
        rows.append((inserted.inserted_primary_key[0], data))
    return index_events(session, sender, rows)


def fill(log: ConversationLog, count: int, seed: int = 7) -> float:
    """Write `count` conversations as the tracker store does; returns the seconds taken."""
    rng = random.Random(seed)
    now = time.time()
    began = time.perf_counter()
    batch = 500
    for first in range(0, count, batch):
        with log.session() as session:
            for number in range(first, min(count, first + batch)):
                start = now - rng.uniform(0, DAYS * 86400)
                events = synthetic_conversation(rng, start)
                conversation = write_conversation(session, f"bench-{number:05d}", events)
                if conversation is not None and rng.random() < 0.1:
                    conversation.reviewed = True
    ids = [r.id for r in conversations_page.conversations(log, Filters(), per_page=count).rows]
    for conversation_id in rng.sample(ids, max(1, len(ids) // 20)):
        transcript_page.add_tag(
            log, conversation_id, rng.choice(["wrong answer", "pay", "new intent"])
        )
    return time.perf_counter() - began


def median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()  # warm caches, as a trainer's second click would
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def http_median_ms(log: ConversationLog, url: str, paths: list[str], repeat: int) -> list[float]:
    """The rendered pages, through the real app (login, middlewares, templates)."""
    from aiohttp.test_utils import TestClient, TestServer

    secret = "bench-" + "x" * 40
    logins_page.set_trainer(log, "bench", "bench password", reset=False)

    async def measure() -> list[float]:
        app = create_app(
            Settings(tracker_store_url=url, review_secret=secret),
            log=log,
            intents=domain_intents(),
        )
        async with TestClient(TestServer(app)) as client:
            form = await (await client.get("/login")).text()
            token = form.split('name="csrf_token" value="')[1].split('"')[0]
            await client.post(
                "/login",
                data={"username": "bench", "password": "bench password", "csrf_token": token},
            )
            results = []
            for path in paths:
                times = []
                for _ in range(repeat + 1):
                    began = time.perf_counter()
                    response = await client.get(path)
                    await response.read()
                    assert response.status == 200, (path, response.status)
                    times.append(time.perf_counter() - began)
                results.append(statistics.median(times[1:]) * 1000)
            return results

    return asyncio.run(measure())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--url", help="an empty database to fill (default: a temp SQLite file)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="review-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'conversations.db'}"
        engine = make_engine(url)
        sqlite_pragmas(engine)
        log = ConversationLog(engine)
        log.create_tables()
        seconds = fill(log, args.conversations)
        total = conversations_page.conversations(log, Filters()).total
        with log.session() as session:
            from sqlalchemy import func, select

            from bot.tracking.models import Message

            messages = session.execute(select(func.count()).select_from(Message)).scalar_one()
            events = session.execute(select(func.count()).select_from(EVENTS)).scalar_one()
        print(
            f"Filled {total} conversations ({messages} user messages, {events} events) "
            f"in {seconds:.1f} s on {engine.dialect.name}."
        )
        today = now().date()
        week = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
        cases: list[tuple[str, dict[str, str], int]] = [
            ("first page, no filter (baseline)", {}, 1),
            ("last page, no filter", {}, 10**6),
            ("date range: last 7 days", week, 1),
            ("channel = socketio", {"channel": "socketio"}, 1),
            ("fallback happened", {"fallback": "1"}, 1),
            ("a message below 0.4", {"below": "0.4"}, 1),
            ("negative feedback", {"negative": "1"}, 1),
            ("not reviewed", {"status": "unreviewed"}, 1),
            ("tag = pay", {"tag": "pay"}, 1),
            ("text: 'scanner'", {"q": "scanner"}, 1),
            ("text: '[email]' (rare)", {"q": "[email]"}, 1),
            ("text: 'no such words' (no match)", {"q": "no such words"}, 1),
            (
                "everything at once",
                {**week, "channel": "rest", "fallback": "1", "below": "0.5", "negative": "1"},
                1,
            ),
        ]
        print(f"\nMedian of {args.repeat} runs; ratio to the baseline in this run.\n")
        print(f"{'query':44} {'matches':>8} {'median ms':>10} {'ratio':>7}")
        baseline = 0.0
        for name, query, page in cases:
            filters = Filters.from_query(query)
            found = conversations_page.conversations(log, filters, page)
            ms = median_ms(
                functools.partial(conversations_page.conversations, log, filters, page), args.repeat
            )
            baseline = baseline or ms
            print(f"{name:44} {found.total:>8} {ms:>10.2f} {ms / baseline:>7.2f}")
        one = conversations_page.conversations(log, Filters()).rows[0].id
        ms = median_ms(lambda: transcript_page.transcript(log, one), args.repeat)
        print(f"{'transcript of one conversation':44} {'':>8} {ms:>10.2f} {ms / baseline:>7.2f}")
        start = today - timedelta(days=29)
        ms = median_ms(lambda: dashboard_page.stats(log, start, today), args.repeat)
        print(f"{'dashboard numbers, 30 days':44} {'':>8} {ms:>10.2f} {ms / baseline:>7.2f}")
        ms = median_ms(
            lambda: dashboard_page.stats(log, today - timedelta(days=DAYS), today), args.repeat
        )
        print(f"{'dashboard numbers, 90 days':44} {'':>8} {ms:>10.2f} {ms / baseline:>7.2f}")

        print("\nUnanswered messages: the query, then grouping by wording (TF-IDF, clustering).\n")
        for days in (7, 30, DAYS):
            start = today - timedelta(days=days - 1)
            unanswered = unanswered_page.unanswered(log, start, today)
            groups = group(unanswered)
            query_ms = median_ms(
                functools.partial(unanswered_page.unanswered, log, start, today), args.repeat
            )
            group_ms = median_ms(functools.partial(group, unanswered), args.repeat)
            print(
                f"last {days:2} days: {len(unanswered):5} messages, {len(groups):5} groups; "
                f"query {query_ms:7.1f} ms, grouping {group_ms:7.1f} ms"
            )
        ninety = (today - timedelta(days=DAYS - 1)).isoformat()
        paths = [
            "/",
            "/?negative=1&below=0.5",
            "/?q=scanner",
            f"/conversations/{one}",
            "/dashboard",
            "/unanswered",
            f"/unanswered?from={ninety}&all=1",
            "/unanswered.csv",
        ]
        print("\nThe same through HTTP (the real app: session check, query, template):\n")
        for path, ms in zip(paths, http_median_ms(log, url, paths, args.repeat), strict=True):
            print(f"GET {path:40} {ms:>10.2f} {ms / baseline:>7.2f}")
            if path.startswith("/unanswered?") or path == "/unanswered":
                verdict = "under" if ms < 1000 else "OVER"
                print(f"    {verdict} the 1 s goal for the Unanswered page")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
