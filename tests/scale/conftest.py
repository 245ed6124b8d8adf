"""The production profile, started once for tests/scale with bot.prod, as `make run-prod` does:
PostgreSQL, Redis, two Rasa instances, two action servers, the careers page and nginx, all on
127.0.0.1 with throw-away data. The fault tests stop a part and start it again; each leaves
the profile whole (tests.support.cluster.whole_again) for the next test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.prod.cluster import Cluster, Layout, production
from bot.settings import Settings
from tests.support.cluster import ARTIFACTS, LOCK_LIFETIME, SCALE_ENV


@pytest.fixture(scope="session")
def settings() -> Settings:
    # Not the caller's environment: a throw-away PostgreSQL and Redis, whatever is set.
    return Settings.from_env(SCALE_ENV)


@pytest.fixture(scope="session")
def cluster(model: Path, settings: Settings) -> Iterator[Cluster]:
    layout = Layout.allocate(rasa_instances=2, action_instances=2)
    with production(
        settings,
        layout,
        model=model,
        log_dir=ARTIFACTS,
        extra_env={"TICKET_LOCK_LIFETIME": LOCK_LIFETIME},
    ) as running:
        yield running


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """nginx itself, for a test that runs it (`nginx -t`): `make system` installs it."""
    found = shutil.which("nginx") or shutil.which("/usr/sbin/nginx")
    assert found, "nginx is not installed: run `make system`"
    return found
