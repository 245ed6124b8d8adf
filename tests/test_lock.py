"""requirements.lock pins every package with its files' SHA-256s, every installer requires
them, and the virtual environment the tests run in is the lock's."""

from __future__ import annotations

import re
from importlib import metadata

from packaging.utils import canonicalize_name

from bot.settings import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def entries() -> dict[str, tuple[str, list[str]]]:
    """Each locked package: its version and the hashes of its entry."""
    locked: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pin = PIN.match(line)
        if pin:
            name = canonicalize_name(pin[1])
            assert name not in locked, f"{pin[1]} is locked twice"
            locked[name] = (pin[2], [])
        else:
            assert name and line.startswith(" "), f"not a pin or a hash: {line!r}"
            locked[name][1].extend(HASH.findall(line))
    return locked


def test_every_package_is_pinned_with_hashes() -> None:
    locked = entries()
    assert len(locked) > 150  # rasa alone brings well over a hundred
    assert [n for n, (_, hashes) in locked.items() if not hashes] == []


def test_the_environment_is_the_lock() -> None:
    installed: dict[str, str] = {
        canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()
    }
    wrong = {
        name: (version, installed.get(name))
        for name, (version, _) in entries().items()
        if installed.get(name) != version
    }
    assert wrong == {}, "locked version, installed version"


def test_every_installer_requires_the_hashes() -> None:
    """Each line that installs from the lock (make venv, its pip fallback, the image) checks."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    pip = re.search(r"^PIP := (.*)$", makefile, re.MULTILINE)
    assert pip and "--require-hashes" in pip[1] and "--no-deps" in pip[1]
    installs = [
        line
        for text in (makefile, (PROJECT_ROOT / "deploy" / "Dockerfile").read_text())
        for line in text.splitlines()
        if re.search(r"(pip install|\$\(PIP\)|uv pip sync).*(requirements\.lock|locked,)", line)
        and "echo" not in line
    ]
    assert len(installs) == 5, installs  # pip, uv, uv's sync, pip's fallback; the image
    assert [line for line in installs if not re.search(r"--require-hashes|\$\(PIP\)", line)] == []
