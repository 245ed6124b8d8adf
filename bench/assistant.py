"""Benchmark: training time, REST latency and throughput, against the stock `rasa init` bot.

Both assistants are trained and served in this one run on this machine, so the ratios
(ours / stock) mean something on a shared, noisy machine where absolute numbers do not.
Loopback only; every loop is bounded.

    .venv/bin/python bench/assistant.py [--rounds 3] [--messages 40] [--train-rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import serve
from bot.settings import PROJECT_ROOT
from tests.support.servers import free_port, resident_mib

OUR_MESSAGES = [
    "hello",
    "what does an assistant practitioner do?",
    "how do they get accredited?",
    "and for imaging support workers?",
    "what are the entry requirements for a radiography assistant",
    "how much do they earn?",
    "what's the difference between an AP and a radiography assistant",
    "thanks, bye",
]
STOCK_MESSAGES = ["hello", "I am sad", "yes", "are you a bot?", "great", "bye", "no", "hi"]


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=serve.base_env(), check=True, capture_output=True)
    return time.perf_counter() - start


def train(project: Path, out: Path) -> float:
    """`rasa train` from scratch; ours as `make train` runs it (bot.rasa_command: Rasa's own
    command with bot/rasa_compat.py installed), stock's as `rasa init` users run it."""
    rasa = (
        [serve._bin("python"), "-m", "bot.rasa_command"]
        if project == PROJECT_ROOT
        else [serve._bin("rasa")]
    )
    return timed([*rasa, "train", "--force", "--out", str(out), "--fixed-model-name", "m"], project)


def stock_project(root: Path) -> Path:
    import rasa.cli.scaffold

    project = root / "stock"
    shutil.copytree(Path(rasa.cli.scaffold.__file__).with_name("initial_project"), project)
    return project


@contextmanager
def stock_server(project: Path, model: Path) -> Iterator[tuple[str, list[int]]]:
    """The stock bot as `rasa init` serves it: Rasa, and its (empty) action server."""
    port, actions_port = free_port(), free_port()
    commands = {
        "stock rasa": [
            serve._bin("rasa"),
            "run",
            "--model",
            str(model),
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        "stock actions": [serve._bin("rasa"), "run", "actions", "-p", str(actions_port)],
    }
    processes = {
        name: subprocess.Popen(
            command,
            cwd=project,
            env=serve.base_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for name, command in commands.items()
    }
    try:
        serve.wait_until_up(
            f"http://127.0.0.1:{port}/webhooks/rest/", processes["stock rasa"], "stock rasa", 300
        )
        serve.wait_until_up(
            f"http://127.0.0.1:{actions_port}/health",
            processes["stock actions"],
            "stock actions",
            300,
        )
        yield f"http://127.0.0.1:{port}", [process.pid for process in processes.values()]
    finally:
        for process in processes.values():
            serve.stop(process)


def say(base_url: str, sender: str, message: str) -> float:
    body = json.dumps({"sender": sender, "message": message}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        json.loads(response.read())
    return time.perf_counter() - start


def load(base_url: str, messages: list[str], concurrency: int, total: int) -> dict[str, float]:
    """`concurrency` conversations at once, `total` messages in all; latency and throughput."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_user = total // concurrency

    def user(index: int) -> None:
        sender = f"bench-{concurrency}-{index}-{time.monotonic_ns()}"
        for i in range(per_user):
            took = say(base_url, sender, messages[i % len(messages)])
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[max(0, int(0.95 * len(ordered)) - 1)],
        "throughput": len(ordered) / wall,
    }


def median_of(rounds: int, run: Callable[[], dict[str, float]]) -> dict[str, float]:
    results = [run() for _ in range(rounds)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=40, help="messages per load run")
    parser.add_argument("--train-rounds", type=int, default=3, help="trainings of each bot")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="careers-bench-") as tmp:
        root = Path(tmp)
        stock = stock_project(root)
        # Alternated, so a change in the machine's load falls on both alike.
        times: dict[str, list[float]] = {"stock": [], "ours": []}
        for round_ in range(1, args.train_rounds + 1):
            for name, project in (("stock", stock), ("ours", PROJECT_ROOT)):
                print(f"training {name} ({round_} of {args.train_rounds}) ...", flush=True)
                times[name].append(train(project, root / f"{name}-models"))
                print(f"  {times[name][-1]:.1f} s", flush=True)
        report["train_s"] = {name: statistics.median(ts) for name, ts in times.items()}
        ours_model = root / "ours-models" / "m.tar.gz"
        stock_model = root / "stock-models" / "m.tar.gz"
        ports = serve.Ports(rasa=free_port(), actions=free_port())
        with (
            serve.assistant(ports, model=ours_model) as running,
            stock_server(stock, stock_model) as (stock_url, stock_pids),
        ):
            for concurrency in (1, 8):
                for name, url, messages in (
                    ("stock", stock_url, STOCK_MESSAGES),
                    ("ours", running.rasa_url, OUR_MESSAGES),
                ):
                    print(f"load: {name}, {concurrency} concurrent ...", flush=True)
                    say(url, "warm-up", messages[0])
                    result = median_of(
                        args.rounds,
                        functools.partial(load, url, messages, concurrency, args.messages),
                    )
                    report.setdefault(f"c{concurrency}", {})[name] = result
            # After the load, so both have parsed, predicted and logged the same number of turns.
            report["rss_mib"] = {
                "ours": resident_mib(*(p.pid for p in running.processes.values())),
                "stock": resident_mib(*stock_pids),
            }
    print()
    print(f"{'measure':34} {'ours':>10} {'stock':>10} {'ours/stock':>11}")
    train_s = report["train_s"]
    print(
        f"{'full training time (s)':34} {train_s['ours']:10.1f} {train_s['stock']:10.1f} "
        f"{train_s['ours'] / train_s['stock']:11.2f}"
    )
    for concurrency in (1, 8):
        ours, stock_result = report[f"c{concurrency}"]["ours"], report[f"c{concurrency}"]["stock"]
        for key, label in (
            ("p50_ms", "latency p50 (ms)"),
            ("p95_ms", "latency p95 (ms)"),
            ("throughput", "throughput (messages/s)"),
        ):
            name = f"{label}, {concurrency} concurrent"
            print(
                f"{name:34} {ours[key]:10.1f} {stock_result[key]:10.1f} "
                f"{ours[key] / stock_result[key]:11.2f}"
            )
    rss = report["rss_mib"]
    name = "resident memory, Rasa + actions (MiB)"
    print(f"{name:34} {rss['ours']:10.1f} {rss['stock']:10.1f} {rss['ours'] / rss['stock']:11.2f}")
    print(
        f"\n(training times are medians of {args.train_rounds} trainings each, load figures "
        f"medians of {args.rounds} rounds of {args.messages} messages)"
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
