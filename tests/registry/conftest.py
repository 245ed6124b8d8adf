"""A registry over an empty conversation log and models folder of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.prod.processes import PostgreSQL
from bot.registry.records import Paths, Registry
from bot.settings import ServingSettings, Settings
from tests.support.registry import TOKEN
from tests.support.servers import free_port
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


@pytest.fixture
def live_registry(postgres_server: PostgreSQL, tmp_path: Path, model: Path) -> Iterator[Registry]:
    """A conversation log of its own on the session's PostgreSQL, and a models folder whose
    careers.tar.gz is the trained model."""
    url = postgres_server.create_database(f"registry_{free_port()}")
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "careers.tar.gz").write_bytes(model.read_bytes())
    registry = Registry(make_engine(url), Paths(models_dir))
    registry.create_tables()
    yield registry
    registry.engine.dispose()


@pytest.fixture
def live_settings(live_registry: Registry, role_store_url: str) -> Settings:
    """The settings of a command run against `live_registry`, with the API token."""
    return Settings(
        tracker_store_url=live_registry.engine.url.render_as_string(hide_password=False),
        models_dir=live_registry.paths.models_dir,
        role_store_url=role_store_url,
        serving=ServingSettings(rasa_api_token=TOKEN),
    )
