"""The trained model (trained once per test run, only when stale) and a running assistant."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import serve, training
from bot.settings import PROJECT_ROOT
from bot.store import get_store
from tests.servers import free_port

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model `make train` builds; trains here only if it is missing or stale."""
    store = get_store()
    store.load(training_content())
    training.train(store)
    assert training.MODEL_PATH.exists()
    return training.MODEL_PATH


def training_content() -> Any:
    from bot.store import read_content

    return read_content(PROJECT_ROOT / "data" / "roles")


@pytest.fixture(scope="session")
def assistant(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serve.Running]:
    """The assistant as `make run` starts it, logging to a throw-away conversation log."""
    ports = serve.Ports(rasa=free_port(), actions=free_port())
    log = tmp_path_factory.mktemp("log") / "conversations.db"
    with serve.assistant(
        ports,
        model=trained_model,
        log_dir=ARTIFACTS / "logs",
        extra_env={"TRACKER_STORE_URL": f"sqlite:///{log}"},
    ) as running:
        yield running


def post_json(url: str, body: Any, timeout: float = 60) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class Conversation:
    """One user talking to the REST channel."""

    def __init__(self, running: serve.Running, sender: str) -> None:
        self.url = f"{running.rasa_url}/webhooks/rest/webhook"
        self.sender = sender

    def say(self, message: str) -> list[dict[str, Any]]:
        replies: list[dict[str, Any]] = post_json(
            self.url, {"sender": self.sender, "message": message}
        )
        return replies

    def text(self, message: str) -> str:
        return "\n\n".join(r.get("text", "") for r in self.say(message))
