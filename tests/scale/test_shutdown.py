"""SIGTERM and SIGHUP stop `python -m bot run` and `python -m bot prod` and every child of
theirs, as Ctrl-C does; a second `run` while one runs names the taken port and stops.

Each run gets free ports and a marker variable in its environment: a process still carrying
the marker after the stop is an orphan (children inherit the environment). Redis and nginx
overwrite theirs with their process titles, so the processes started are also followed from
parent to child while the run is up: none of them may be left after the stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import serve
from bot.settings import PROJECT_ROOT
from tests.support.servers import free_port, listening, wait_for

MARKER = "CAREERS_SHUTDOWN_TEST"
BOT_RUN = [sys.executable, "-m", "bot", "run"]


def marked(value: str) -> list[int]:
    """The processes whose environment carries MARKER=value."""
    wanted = f"{MARKER}={value}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if wanted in variables:
            found.append(int(environ.parent.name))
    return found


def descendants(root: int) -> set[int]:
    """Every process below `root` now, found through each process's parent."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (name) state ppid ...": the name may hold spaces, so split after ")".
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (a zombie, already dead, is not)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            running.add(pid)
    return running


def run_env(tmp_path: Path, ports: serve.Ports, marker: str) -> dict[str, str]:
    return {
        **serve.base_env(),
        MARKER: marker,
        "RASA_PORT": str(ports.rasa),
        "ACTIONS_PORT": str(ports.actions),
        "WEB_PORT": str(ports.web),
        "REVIEW_PORT": str(ports.review),
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path / 'conversations.db'}",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def ports() -> serve.Ports:
    return serve.Ports(rasa=free_port(), actions=free_port(), web=free_port(), review=free_port())


@pytest.fixture
def marker() -> Iterator[str]:
    value = uuid.uuid4().hex
    yield value
    for pid in marked(value):  # a failed test must not leave them running either
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def kill_what_is_left(process: subprocess.Popen[bytes], started: set[int]) -> None:
    """After a failed test: the run and whatever it started, so nothing holds a port."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    for pid in alive(started):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], set[int]]]:
    """The command in a process group of its own, as `make` (run from a terminal or a service)
    would be, and the set the test adds the processes it saw started to: however the test
    ends, kill_what_is_left then."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started: set[int] = set()
    try:
        yield process, started
    finally:
        kill_what_is_left(process, started)


def assert_all_stopped(
    process: subprocess.Popen[bytes], marker: str, started: set[int], ports: list[int]
) -> None:
    assert process.wait(timeout=90) == 0
    wait_for(lambda: not marked(marker) and not alive(started), 10, "every child stopped")
    assert [port for port in ports if listening(port)] == []


def test_a_second_run_names_the_taken_port_and_exits(
    tmp_path: Path, ports: serve.Ports, marker: str
) -> None:
    with socket.socket() as taken:
        taken.bind((serve.HOST, ports.web))
        taken.listen()
        started = time.monotonic()
        result = subprocess.run(
            BOT_RUN,
            cwd=PROJECT_ROOT,
            env=run_env(tmp_path, ports, marker),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert f"port {ports.web} (the careers page)" in result.stderr
    assert "already running" in result.stderr
    assert time.monotonic() - started < 30  # before loading anything
    assert marked(marker) == []


def test_sigterm_stops_a_running_assistant_and_every_child(
    model: Path, tmp_path: Path, ports: serve.Ports, marker: str
) -> None:
    log = tmp_path / "run.log"
    with running(BOT_RUN, run_env(tmp_path, ports, marker), log) as (process, started):
        wait_for(lambda: b"Ready." in log.read_bytes() or process.poll() is not None, 600, "ready")
        assert process.poll() is None, log.read_text()
        assert all(listening(port) for port in (ports.rasa, ports.actions, ports.web, ports.review))
        started.update(descendants(process.pid))
        assert len(started) >= 4  # Rasa, the action server, the page, the console
        process.send_signal(signal.SIGTERM)
        all_ports = [ports.rasa, ports.actions, ports.web, ports.review]
        assert_all_stopped(process, marker, started, all_ports)
        assert "Stopped." in log.read_text()


def test_sigterm_to_make_run_alone_stops_every_child(
    model: Path, tmp_path: Path, ports: serve.Ports, marker: str
) -> None:
    """`docker stop` or a CI runner signals make's own process: make passes SIGTERM on to
    `python -m bot run`. (-o: the model and the page's CSS are taken as built.)"""
    log = tmp_path / "make.log"
    command = ["make", "--no-print-directory", "-o", "train", "-o", "npm", "run"]
    with running(command, run_env(tmp_path, ports, marker), log) as (process, started):
        wait_for(lambda: listening(ports.actions), 120, "the action server listened")
        started.update(descendants(process.pid))
        process.send_signal(signal.SIGTERM)  # make's pid only, not its group
        process.wait(timeout=90)
        wait_for(lambda: not marked(marker) and not alive(started), 30, "every child stopped")
        assert [p for p in (ports.rasa, ports.actions) if listening(p)] == []


def test_sighup_while_starting_stops_what_was_started(
    model: Path, tmp_path: Path, ports: serve.Ports, marker: str
) -> None:
    log = tmp_path / "run.log"
    with running(BOT_RUN, run_env(tmp_path, ports, marker), log) as (process, started):
        # The action server is up, Rasa is loading its model.
        wait_for(lambda: listening(ports.actions), 120, "the action server listened")
        assert len(marked(marker)) >= 3  # us, the action server, Rasa
        started.update(descendants(process.pid))
        process.send_signal(signal.SIGHUP)
        assert_all_stopped(process, marker, started, [ports.rasa, ports.actions])


def test_sigterm_to_run_prods_process_group_stops_every_part(
    model: Path, tmp_path: Path, marker: str
) -> None:
    public = free_port()
    env = {**serve.base_env(), MARKER: marker, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "prod.log"
    command = [sys.executable, "-m", "bot", "prod", "--port", str(public)]
    with running(command, env, log) as (process, started):
        # nginx is launched with the instances, after PostgreSQL and Redis are up.
        wait_for(lambda: listening(public) or process.poll() is not None, 300, "nginx listened")
        assert process.poll() is None, log.read_text()
        started.update(descendants(process.pid))
        names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in alive(started)}
        assert {"postgres", "redis-server", "nginx"} <= names, names
        assert len(started) >= 8  # PostgreSQL, Redis, Rasa x2, actions x2, the page, nginx
        os.killpg(process.pid, signal.SIGTERM)  # the whole group, as systemd or Docker do
        assert_all_stopped(process, marker, started, [public])
