"""Benchmark: does a message cost more the longer its conversation is? And memory over many.

Conversations of 300 messages over REST, one after the other: the median latency of messages
290 to 300 against that of messages 10 to 20 of the same conversation (medians of 3 rounds),
on the local profile (SQLite, `make run`) and on the production profile (PostgreSQL, Redis,
two Rasa instances behind nginx, as bench/scale.py starts it). Then, on the local profile, the
resident memory of Rasa and the action server after 1,000 short conversations against after
the first 10.
Loopback only; every loop is bounded in count and in time.

    .venv/bin/python bench/long_conversation.py [--rounds 3] [--messages 300]
        [--conversations 1000] [--profile local|production|both]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import serve
from bot.prod.cluster import Layout, production
from bot.settings import PROJECT_ROOT, Settings
from tests.support.http import say
from tests.support.load import MESSAGES
from tests.support.servers import free_port, resident_mib

LOG_DIR = PROJECT_ROOT / "var" / "prod" / "bench-logs"
# Everything comes from 127.0.0.1, and one sender sends hundreds of messages: no rate limit,
# and a per-conversation limit above the benchmark's length.
ENV = {"RATE_LIMIT": "100000", "RATE_BURST": "100000", "CONVERSATION_MESSAGE_LIMIT": "100000"}
EARLY = slice(9, 20)  # messages 10 to 20
LATE = slice(289, 300)  # messages 290 to 300


def one_conversation(url: str, messages: int, deadline: float) -> list[float]:
    """One sender, `messages` messages one after the other; each latency in seconds."""
    sender = f"long-{uuid.uuid4().hex[:8]}"
    latencies = []
    for number in range(messages):
        if time.monotonic() > deadline:
            raise SystemExit(f"out of time after {number} messages")
        start = time.perf_counter()
        reply = say(url, sender, MESSAGES[number % len(MESSAGES)], timeout=120)
        latencies.append(time.perf_counter() - start)
        if not reply.answered:
            raise SystemExit(f"message {number + 1} was not answered: {reply}")
    return latencies


def growth(url: str, args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    """`args.rounds` conversations one after the other: the medians of their medians (a round
    that met a busy moment of the shared machine moves them less), and each round's ratio."""
    early, late = [], []
    for number in range(1, args.rounds + 1):
        latencies = one_conversation(url, args.messages, deadline)
        early.append(1000 * statistics.median(latencies[EARLY]))
        late.append(1000 * statistics.median(latencies[LATE]))
        print(f"  round {number}: {early[-1]:.1f} ms, {late[-1]:.1f} ms", flush=True)
    return {
        "early_p50_ms": statistics.median(early),
        "late_p50_ms": statistics.median(late),
        "ratio": statistics.median(late) / statistics.median(early),
        "round_ratios": [b / a for a, b in zip(early, late, strict=True)],
    }


def short_conversations(url: str, count: int, deadline: float) -> None:
    for _ in range(count):
        if time.monotonic() > deadline:
            raise SystemExit("out of time in the short conversations")
        sender = f"short-{uuid.uuid4().hex[:8]}"
        for message in MESSAGES[:2]:
            say(url, sender, message, timeout=120)


def local(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="careers-bench-") as tmp:
        env = {**ENV, "TRACKER_STORE_URL": f"sqlite:///{tmp}/conversations.db"}
        ports = serve.Ports(rasa=free_port(), actions=free_port())
        with serve.assistant(ports, extra_env=env) as running:
            url = running.rasa_url
            say(url, "warm-up", MESSAGES[0])
            print(f"local: {args.rounds} conversations of {args.messages} messages ...", flush=True)
            result = growth(url, args, deadline)
            pids = [process.pid for process in running.processes.values()]
            print(f"local: {args.conversations} conversations of 2 messages ...", flush=True)
            short_conversations(url, 10, deadline)
            after_10 = resident_mib(*pids)
            short_conversations(url, args.conversations - 10, deadline)
            after_all = resident_mib(*pids)
    result["rss_after_10_mib"] = after_10
    result["rss_after_all_mib"] = after_all
    result["rss_ratio"] = after_all / after_10
    return result


def production_profile(args: argparse.Namespace, deadline: float) -> dict[str, Any]:
    settings = Settings.from_env(ENV)
    layout = Layout.allocate(rasa_instances=2, action_instances=2)
    print("starting PostgreSQL, Redis, 2 Rasa instances, 2 action servers, nginx ...", flush=True)
    with production(settings, layout, log_dir=LOG_DIR, extra_env=ENV) as cluster:
        url = cluster.public_url
        for number in range(4):  # both instances' models warmed up
            say(url, f"warm-up-{number}", MESSAGES[0])
        print(
            f"production: {args.rounds} conversations of {args.messages} messages ...", flush=True
        )
        return growth(url, args, deadline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11))
    parser.add_argument("--messages", type=int, default=300, choices=range(300, 1001))
    parser.add_argument("--conversations", type=int, default=1000, choices=range(10, 10001))
    parser.add_argument("--profile", choices=("local", "production", "both"), default="both")
    parser.add_argument("--max-minutes", type=float, default=60, help="stop after (default 60)")
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_minutes * 60
    profiles: dict[str, Callable[[argparse.Namespace, float], dict[str, Any]]] = {
        "local": local,
        "production": production_profile,
    }
    report = {
        name: run(args, deadline)
        for name, run in profiles.items()
        if args.profile in (name, "both")
    }
    print(f"\n{'profile':12} {'p50 10-20 (ms)':>15} {'p50 290-300 (ms)':>17} {'ratio':>6}")
    for name, row in report.items():
        print(
            f"{name:12} {row['early_p50_ms']:15.1f} {row['late_p50_ms']:17.1f} {row['ratio']:6.2f}"
        )
    if "local" in report:
        row = report["local"]
        print(
            f"\nresident memory, Rasa + actions: {row['rss_after_10_mib']:.1f} MiB after 10 "
            f"conversations, {row['rss_after_all_mib']:.1f} MiB after {args.conversations} "
            f"({row['rss_ratio']:.2f}x)"
        )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
