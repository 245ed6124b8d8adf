"""Every folder's fixtures come from the one toolkit (tests/support/fixtures.py); this file
also marks each test with what it needs, so `make test-fast` can leave out the slow tier."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.support.fixtures"]

# The fixtures that need each mark's resource: a test using one, directly or through another
# fixture (pytest lists them all in item.fixturenames), gets the mark.
NEEDS = {
    "model": {"model"},
    "server": {
        "assistant",
        "altered",
        "cluster",
        "live",
        "page_url",
        "unanswered_console",
        "redis",
        "redis_server",
        "nginx_binary",
    },
    "browser": {"browser"},
    "postgres": {"postgres_server", "cluster"},
    "process": {"cli"},
}
# Whole modules whose tests start processes of their own (`python -m bot run`, `rasa test`).
MODULE_NEEDS = {
    "tests/scale/test_shutdown.py": {"server"},
}


def needs(item: pytest.Item) -> set[str]:
    used = set(getattr(item, "fixturenames", ()))
    path = item.path.relative_to(item.config.rootpath).as_posix()
    found = {mark for mark, fixtures in NEEDS.items() if used & fixtures}
    found |= MODULE_NEEDS.get(path, set())
    # A test parametrised over the backends asks for the server only in its "postgresql" case.
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "postgresql" in callspec.params.values():
        found.add("postgres")
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark in sorted(needs(item)):
            item.add_marker(getattr(pytest.mark, mark))
