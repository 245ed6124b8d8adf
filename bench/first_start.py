"""Benchmark: how long a new user waits, in absolute time, from a clean clone.

1. the first `make run` on a clean clone, until its "Ready." line (venv, npm, store, training);
2. `make run` again when nothing changed, until "Ready.";
3. `make train` after one training example changed.

It clones this repository into a temporary folder (with a copy of ../shared beside it, as CI
has), runs each step there on free ports, stops `make run` with SIGTERM, and prints the three
times against the targets of issue 11. Loopback only; the first step needs the package
registries (PyPI, npm), as `make run` on a new machine does.

    .venv/bin/python bench/first_start.py [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import PROJECT_ROOT
from tests.support.servers import free_port

READY = "Ready."
PORTS = ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT", "REVIEW_PORT")
TARGETS = {"first make run": 300.0, "make run, nothing changed": 40.0, "retrain, one example": 60.0}
LIMIT_S = 1800


def make_run_until_ready(checkout: Path, env: dict[str, str]) -> float:
    """Start `make run`, return the seconds until its ready line, then stop it."""
    start = time.perf_counter()
    process = subprocess.Popen(
        ["make", "run"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        for line in process.stdout:
            seen = [*seen[-19:], line.rstrip()]
            if READY in line:
                return time.perf_counter() - start
            if time.perf_counter() - start > LIMIT_S:
                break
        last = "\n".join(seen)
        raise RuntimeError(f"make run did not get ready (exit {process.poll()}):\n{last}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        wait_until_free([int(env[name]) for name in PORTS])


def wait_until_free(ports: list[int], timeout: float = 180) -> None:
    """Until nothing listens on `ports` (a stopped run's servers may take a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        taken = []
        for port in ports:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    taken.append(port)
        if not taken:
            return
        time.sleep(0.5)


def timed(command: list[str], checkout: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=checkout, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def change_one_example(checkout: Path) -> None:
    path = checkout / "data" / "nlu" / "how_to_apply.yml"
    text = path.read_text()
    marker = "  examples: |\n"
    path.write_text(text.replace(marker, marker + "    - who should I ring about a post\n", 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="careers-first-start-"))
    try:
        checkout = root / "main"
        subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(checkout)], check=True)
        shared = PROJECT_ROOT.parent / "shared"
        if shared.is_dir():
            shutil.copytree(shared, root / "shared")
        env = {
            **os.environ,
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "REVIEW_PORT": str(free_port()),
        }
        env.pop("VIRTUAL_ENV", None)
        results: dict[str, float] = {}
        print("first make run on a clean clone ...", flush=True)
        results["first make run"] = make_run_until_ready(checkout, env)
        print(f"  {results['first make run']:.1f} s", flush=True)
        print("make run again, nothing changed ...", flush=True)
        results["make run, nothing changed"] = make_run_until_ready(checkout, env)
        print(f"  {results['make run, nothing changed']:.1f} s", flush=True)
        print("make train after one training example changed ...", flush=True)
        change_one_example(checkout)
        results["retrain, one example"] = timed(["make", "train"], checkout, env)
        print(f"  {results['retrain, one example']:.1f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(f"{'step':28} {'seconds':>8} {'target':>8}  met")
    for name, seconds in results.items():
        target = TARGETS[name]
        print(f"{name:28} {seconds:8.1f} {target:8.0f}  {'yes' if seconds <= target else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
