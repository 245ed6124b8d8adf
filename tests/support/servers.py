"""Free ports, waiting for something to happen (with a deadline, never a fixed sleep), and
what a process tree holds in memory.

The PostgreSQL launcher is production's own (bot.prod.processes.throwaway_postgres).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot import serve
from bot.prod.processes import HOST, free_port
from bot.settings import PROJECT_ROOT

__all__ = [
    "ARTIFACTS",
    "HOST",
    "BotCommand",
    "bot_command",
    "free_port",
    "listening",
    "resident_mib",
    "wait_for",
]

# Logs and screenshots of a test run, kept for a failure's post-mortem (CI uploads them).
ARTIFACTS = PROJECT_ROOT / "test-artifacts"

T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll `condition` until it returns something true (returned), or raise TimeoutError
    naming `what` once `timeout` seconds have passed: the event, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def resident_mib(*pids: int) -> float:
    """Resident memory of these processes and all their descendants, in MiB (from /proc)."""
    total_kib, todo = 0, list(pids)
    while todo:
        pid = todo.pop()
        todo.extend(_children(pid))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kib += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
    return total_kib / 1024


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def bot_command(
    *arguments: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGUMENTS` in a process of its own, as a user types it (output captured;
    `env` is added to the environment, `unset` taken out of it; `timeout` for a training)."""
    environment = {**serve.base_env(), **(env or {})}
    for name in unset:
        environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments],
        env=environment,
        cwd=PROJECT_ROOT,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


BotCommand = Callable[..., "subprocess.CompletedProcess[str]"]
