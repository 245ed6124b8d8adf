"""The production profile, started once for tests/scale with bot.prod, as `make run-prod` does:
PostgreSQL, Redis, two Rasa instances, two action servers, the careers page and nginx, all on
127.0.0.1 with throw-away data. The fault tests stop a part and start it again; each leaves
the profile whole (`whole_again`) for the next test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.prod.cluster import Cluster, Layout, production
from bot.settings import PROJECT_ROOT, Settings
from bot.training import MODEL_PATH
from tests.scale.client import wait_until

# One folder per test session: another session may run at the same time (they share nothing
# else: every port is free when taken, every data folder is new).
SESSION = f"{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "logs" / "scale" / SESSION
API_TOKEN = secrets.token_hex(32)
# Everyone is 127.0.0.1 here: the load tests must not be rate limited (test_hostile checks
# the limit on an nginx of its own). A crashed instance's ticket lock expires after 20 s
# (Rasa's default is 60 s), so the fail-over test does not wait a minute.
SCALE_ENV = {"RATE_LIMIT": "100000", "RATE_BURST": "100000", "RASA_API_TOKEN": API_TOKEN}
LOCK_LIFETIME = "20"


@pytest.fixture(scope="session")
def model() -> Path:
    """The model `make train` built (the tests never train)."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` first")
    return MODEL_PATH


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


def whole_again(cluster: Cluster) -> None:
    """Start whatever a test stopped, and wait until the profile answers through nginx."""
    parts = [cluster.postgres.service if cluster.postgres else None, cluster.redis]
    parts += [*cluster.actions, *cluster.rasa, cluster.web, cluster.nginx]
    for service in parts:
        if service is not None and not service.running:
            service.start()
    wait_until(cluster, timeout=120)
