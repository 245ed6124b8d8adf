"""Benchmark: REST throughput and p95 latency with one Rasa instance and with two, behind nginx.

One production profile (bot.prod: PostgreSQL, Redis, two Rasa instances, two action servers)
is started, with two nginx servers in front of it: one sending every conversation to the
first instance, one sharing them between both. Rounds alternate between the two, so the ratio
(two / one) means something on a shared, noisy machine where absolute numbers do not. Loopback
only; every loop is bounded in count and in time.

    .venv/bin/python bench/scale.py [--rounds 3] [--conversations 16] [--messages 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.prod.cluster import Cluster, Layout, nginx_config, nginx_service, production
from bot.prod.processes import Service
from bot.settings import PROJECT_ROOT, Settings
from tests.support.http import say
from tests.support.load import MESSAGES
from tests.support.servers import free_port

LOG_DIR = PROJECT_ROOT / "var" / "prod" / "bench-logs"
# Everything comes from 127.0.0.1: no rate limit for the benchmark.
ENV = {"RATE_LIMIT": "100000", "RATE_BURST": "100000"}


@dataclass(frozen=True)
class Round:
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[-1]


def one_round(url: str, conversations: int, messages: int) -> Round:
    """`conversations` users at once, each sending `messages` messages one after another."""
    run_id = uuid.uuid4().hex[:8]

    def converse(number: int) -> tuple[list[float], int]:
        latencies, failures = [], 0
        for message in MESSAGES[:messages]:
            start = time.perf_counter()
            reply = say(url, f"bench-{run_id}-{number}", message, timeout=120)
            latencies.append(time.perf_counter() - start)
            failures += 0 if reply.answered else 1
        return latencies, failures

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conversations) as pool:
        results = list(pool.map(converse, range(conversations)))
    seconds = time.perf_counter() - start
    return Round(
        seconds,
        [latency for latencies, _ in results for latency in latencies],
        sum(failures for _, failures in results),
    )


def front_for_one_instance(settings: Settings, cluster: Cluster) -> tuple[str, Service]:
    """A second nginx, the same configuration but only the first Rasa instance behind it."""
    layout = replace(
        cluster.layout, public=free_port(), actions_proxy=free_port(), rasa=cluster.layout.rasa[:1]
    )
    config = nginx_config(
        settings, layout, cluster.workdir / "nginx-one", log_dir=LOG_DIR, name="nginx-one"
    )
    service = nginx_service(config)
    service.start()
    return f"http://127.0.0.1:{layout.public}", service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, choices=range(1, 11))
    parser.add_argument("--conversations", type=int, default=16, choices=range(1, 65))
    parser.add_argument("--messages", type=int, default=6, choices=range(1, len(MESSAGES) + 1))
    parser.add_argument("--max-minutes", type=float, default=40, help="stop after (default 40)")
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_minutes * 60
    settings = Settings.from_env(ENV)
    layout = Layout.allocate(rasa_instances=2, action_instances=2)
    print("starting PostgreSQL, Redis, 2 Rasa instances, 2 action servers, nginx ...", flush=True)
    with production(settings, layout, log_dir=LOG_DIR) as cluster:
        one_url, one_nginx = front_for_one_instance(settings, cluster)
        fronts = {"one instance": one_url, "two instances": cluster.public_url}
        try:
            for url in fronts.values():  # warm up both instances' models
                one_round(url, 2, 2)
            results: dict[str, list[Round]] = {name: [] for name in fronts}
            for number in range(1, args.rounds + 1):
                for name, url in fronts.items():
                    if time.monotonic() > deadline:
                        break
                    result = one_round(url, args.conversations, args.messages)
                    results[name].append(result)
                    print(
                        f"round {number}, {name}: {result.throughput:6.2f} messages/s, "
                        f"p95 {result.p95:6.2f} s, {result.failures} failed",
                        flush=True,
                    )
        finally:
            one_nginx.stop()
    report = {
        name: {
            "rounds": len(rounds),
            "throughput_per_s": statistics.median(r.throughput for r in rounds),
            "p95_s": statistics.median(r.p95 for r in rounds),
            "failures": sum(r.failures for r in rounds),
        }
        for name, rounds in results.items()
        if rounds
    }
    one, two = report.get("one instance"), report.get("two instances")
    print(f"\n{'':16} {'messages/s':>11} {'p95 (s)':>9} {'failed':>7}")
    for name, row in report.items():
        print(f"{name:16} {row['throughput_per_s']:11.2f} {row['p95_s']:9.2f} {row['failures']:7d}")
    if one and two:
        print(
            f"{'two / one':16} {two['throughput_per_s'] / one['throughput_per_s']:11.2f} "
            f"{two['p95_s'] / one['p95_s']:9.2f}"
        )
    print(
        f"\n(medians of {args.rounds} rounds; {args.conversations} conversations at once, "
        f"{args.messages} messages each, per round)"
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
