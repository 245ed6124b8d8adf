"""Channels are configured by the environment only: on when set, off (one log line) when not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.common import class_from_module_path

from bot import serve
from bot.settings import ChannelSettings, Settings, get_settings

SLACK = {"SLACK_BOT_TOKEN": "xoxb-secret-1", "SLACK_SIGNING_SECRET": "signing-secret-2"}
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "auth-token-3",
    "TWILIO_NUMBER": "+447700900000",
    "TWILIO_PUBLIC_URL": "https://careers.example.org",
}


def test_nothing_set_means_every_channel_off() -> None:
    channels = ChannelSettings.from_env({})
    assert (channels.slack, channels.telegram, channels.facebook) == (None, None, None)
    assert (channels.twilio, channels.botframework) == (None, None)
    assert channels.missing == {
        "slack": ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"],
        "telegram": ["TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN"],
        "facebook": [
            "FACEBOOK_PAGE_ACCESS_TOKEN",
            "FACEBOOK_APP_SECRET",
            "FACEBOOK_VERIFY_TOKEN",
        ],
        "twilio": [
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "TWILIO_NUMBER",
            "TWILIO_PUBLIC_URL",
        ],
        "botframework": ["BOTFRAMEWORK_APP_ID", "BOTFRAMEWORK_APP_PASSWORD"],
    }


def test_a_channel_is_on_only_when_all_its_variables_are_set() -> None:
    channels = ChannelSettings.from_env({"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "  "})
    assert channels.slack is None
    assert channels.missing["slack"] == ["SLACK_SIGNING_SECRET"]
    channels = ChannelSettings.from_env(SLACK)
    assert channels.slack is not None
    assert channels.slack.bot_token == "xoxb-secret-1"
    assert channels.slack.api_url == "https://slack.com/api/"
    assert "slack" not in channels.missing


def test_provider_urls_can_be_overridden() -> None:
    channels = ChannelSettings.from_env({**SLACK, "SLACK_API_URL": "http://127.0.0.1:1/api/"})
    assert channels.slack is not None and channels.slack.api_url == "http://127.0.0.1:1/api/"


def test_secrets_are_not_in_the_settings_repr() -> None:
    text = repr(Settings.from_env({**SLACK, **TWILIO}))
    for secret in ["xoxb-secret-1", "signing-secret-2", "auth-token-3"]:
        assert secret not in text
    assert "AC123" in text


def test_credentials_file_has_the_channels_that_are_on_and_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.serve")
    channels = ChannelSettings.from_env({**SLACK, **TWILIO})
    path = serve.write_credentials(serve.Ports(rasa=1234), tmp_path, channels)
    assert path == tmp_path / "credentials-1234.yml"
    written = path.read_text()
    credentials = yaml.safe_load(written)
    base = yaml.safe_load((serve.PROJECT_ROOT / "credentials.yml").read_text())
    assert credentials == {
        **base,
        "bot.channels.slack.SlackInput": None,
        "bot.channels.twilio.TwilioInput": None,
    }
    for secret in [*SLACK.values(), "auth-token-3"]:
        assert secret not in written
    off = [r.getMessage() for r in caplog.records if " is off " in r.getMessage()]
    assert off == [
        "The telegram channel is off (not set: TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_URL, "
        "TELEGRAM_SECRET_TOKEN)",
        "The facebook channel is off (not set: FACEBOOK_PAGE_ACCESS_TOKEN, "
        "FACEBOOK_APP_SECRET, FACEBOOK_VERIFY_TOKEN)",
        "The botframework channel is off (not set: BOTFRAMEWORK_APP_ID, BOTFRAMEWORK_APP_PASSWORD)",
    ]


def test_the_base_credentials_are_rest_and_socketio_only() -> None:
    base = yaml.safe_load((serve.PROJECT_ROOT / "credentials.yml").read_text())
    assert list(base) == ["bot.channels.rest.RestInput", "bot.channels.socketio.SocketIOInput"]


@pytest.mark.parametrize(("name", "path"), serve.CHANNEL_CLASSES.items())
def test_each_channel_class_exists_under_its_webhook_name(name: str, path: str) -> None:
    assert class_from_module_path(path).name() == name


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_a_channel_reads_its_secrets_from_the_settings(environment: pytest.MonkeyPatch) -> None:
    from bot.channels.slack import SlackInput

    for name, value in SLACK.items():
        environment.setenv(name, value)
    channel = SlackInput.from_credentials(None)
    assert isinstance(channel, SlackInput)
    assert channel.slack_signing_secret == "signing-secret-2"


def test_a_channel_listed_without_its_variables_says_which_are_missing(
    environment: pytest.MonkeyPatch,
) -> None:
    from bot.channels.twilio import TwilioInput

    for name in TWILIO:
        environment.delenv(name, raising=False)
    with pytest.raises(RasaException, match="TWILIO_ACCOUNT_SID"):
        TwilioInput.from_credentials(None)
