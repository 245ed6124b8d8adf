"""A registry over an empty conversation log and models folder of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.registry.records import Paths, Registry
from bot.settings import Settings
from tests.support.tracking import fresh_log_url


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    found = tmp_path / "models"
    found.mkdir()
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_log_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty conversation log on each backend (PostgreSQL holds columns to their length)."""
    return fresh_log_url(request, tmp_path)


@pytest.fixture
def registry(registry_log_url: str, models_dir: Path) -> Iterator[Registry]:
    found = Registry(make_engine(registry_log_url), Paths(models_dir))
    found.create_tables()
    yield found
    found.engine.dispose()


@pytest.fixture
def settings(registry_log_url: str, models_dir: Path, role_store_url: str) -> Settings:
    return Settings(
        tracker_store_url=registry_log_url, models_dir=models_dir, role_store_url=role_store_url
    )
