"""The real assistant with every messaging channel on, and fake provider APIs it talks to.

The fake APIs run on 127.0.0.1 and the assistant is configured (through the environment, as
in production) with their URLs instead of the providers', so no request leaves the machine.
The Rasa server and the action server start once for the end-to-end module, exactly as
`make run` starts them (bot.serve), with the conversation log in a SQLite file of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot import serve
from bot.settings import PROJECT_ROOT
from bot.tracking.identity import pseudonym
from bot.training import MODEL_PATH
from tests.channels import clients
from tests.channels.fakes import FakeProviders, fake_providers
from tests.servers import free_port

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# The log stores sender ids only as this key's pseudonyms (bot/tracking/identity.py).
SENDER_ID_KEY = "channels-test-sender-id-key-0123456789abcdef"


@pytest.fixture(scope="module")
def fakes() -> Iterator[FakeProviders]:
    with fake_providers() as running:
        yield running


def channel_env(fakes: FakeProviders) -> dict[str, str]:
    """Every channel's variables, with each provider's API pointed at the fakes."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": clients.SLACK_SIGNING_SECRET,
        "SLACK_API_URL": fakes.slack_api,
        "TELEGRAM_BOT_TOKEN": "123456:TEST-telegram-token",
        "TELEGRAM_WEBHOOK_URL": "https://careers.example.org/webhooks/telegram/webhook",
        "TELEGRAM_SECRET_TOKEN": clients.TELEGRAM_SECRET_TOKEN,
        "TELEGRAM_API_URL": fakes.telegram_api,
        "FACEBOOK_PAGE_ACCESS_TOKEN": "page-access-token",
        "FACEBOOK_APP_SECRET": clients.FACEBOOK_APP_SECRET,
        "FACEBOOK_VERIFY_TOKEN": clients.FACEBOOK_VERIFY_TOKEN,
        "FACEBOOK_GRAPH_URL": fakes.graph_api,
        "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
        "TWILIO_AUTH_TOKEN": clients.TWILIO_AUTH_TOKEN,
        "TWILIO_NUMBER": clients.TWILIO_NUMBER,
        "TWILIO_PUBLIC_URL": clients.TWILIO_PUBLIC_URL,
        "TWILIO_API_URL": fakes.twilio_api,
        "BOTFRAMEWORK_APP_ID": clients.BOTFRAMEWORK_APP_ID,
        "BOTFRAMEWORK_APP_PASSWORD": "app-password",
        "BOTFRAMEWORK_OPENID_URL": fakes.botframework_openid,
        "BOTFRAMEWORK_TOKEN_URL": fakes.botframework_token,
    }


@pytest.fixture(scope="module")
def log_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """This module's conversation log (the tracker store's database)."""
    return f"sqlite:///{tmp_path_factory.mktemp('channels') / 'conversations.db'}"


@pytest.fixture(scope="module")
def assistant(fakes: FakeProviders, log_url: str) -> Iterator[serve.Running]:
    if not MODEL_PATH.exists():
        pytest.fail(f"no trained model at {MODEL_PATH}: run `make train` first")
    ports = serve.Ports(rasa=free_port(), actions=free_port())
    extra_env = {
        **channel_env(fakes),
        "TRACKER_STORE_URL": log_url,
        "SENDER_ID_KEY": SENDER_ID_KEY,
    }
    with serve.assistant(
        ports, model=MODEL_PATH, log_dir=ARTIFACTS / "logs", extra_env=extra_env
    ) as running:
        yield running


class ConversationLog:
    """What the tracker store kept: Rasa's events table, read with plain SQL.

    Conversations are looked up by their id's pseudonym, the only form the log keeps."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def events(self, sender_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
                {"sender": pseudonym(sender_id, SENDER_ID_KEY)},
            )
            return [json.loads(row[0]) for row in rows]

    def user_messages(
        self, sender_id: str, at_least: int = 0, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        """The sender's user events; waits for `at_least` of them, since Rasa saves the
        tracker after it has sent the replies the test has already seen."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events(sender_id) if e.get("event") == "user"]
            if len(found) >= at_least or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def channel(self, sender_id: str) -> str | None:
        """The channel the review index records for the conversation."""
        with self.engine.connect() as connection:
            return connection.execute(
                text("SELECT channel FROM log_conversations WHERE sender_id = :sender"),
                {"sender": pseudonym(sender_id, SENDER_ID_KEY)},
            ).scalar()


@pytest.fixture(scope="module")
def conversation_log(assistant: serve.Running, log_url: str) -> Iterator[ConversationLog]:
    log = ConversationLog(log_url)
    yield log
    log.engine.dispose()


def rasa_log(running: serve.Running) -> str:
    path: Path = running.logs["rasa"]
    return path.read_text(errors="replace")
