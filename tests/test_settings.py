from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, Settings


def test_defaults_are_embedded_sqlite() -> None:
    settings = Settings.from_env({})
    assert settings.role_store_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'roles.db'}"
    assert settings.content_dir == PROJECT_ROOT / "data" / "roles"


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {"ROLE_STORE_URL": "postgresql://u@127.0.0.1/db", "ROLE_CONTENT_DIR": "/tmp/c"}
    )
    assert settings.role_store_url == "postgresql://u@127.0.0.1/db"
    assert settings.content_dir == Path("/tmp/c")


def test_empty_variable_falls_back_to_default() -> None:
    assert Settings.from_env({"ROLE_STORE_URL": ""}).role_store_url.startswith("sqlite:///")


def test_production_needs_a_sender_id_key() -> None:
    from bot.settings import MissingSecret

    production = {"ENVIRONMENT": "production", "REVIEW_SECRET": "r" * 40}
    with pytest.raises(MissingSecret, match="SENDER_ID_KEY"):
        Settings.from_env(production)
    with pytest.raises(MissingSecret, match="SENDER_ID_KEY"):
        Settings.from_env({**production, "SENDER_ID_KEY": "short"})
    settings = Settings.from_env({**production, "SENDER_ID_KEY": "s" * 40})
    assert settings.sender_id_secret() == "s" * 40
    assert "s" * 40 not in repr(settings)


def test_production_with_a_messaging_channel_needs_the_privacy_notices_address() -> None:
    """The first reply on SMS or Slack links the privacy notice: not the local default."""
    production = {"ENVIRONMENT": "production", "REVIEW_SECRET": "r" * 40, "SENDER_ID_KEY": "s" * 40}
    slack = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}
    assert Settings.from_env(production).channels.on() == []  # no channel: nothing to link
    with pytest.raises(ValueError, match=r"the slack channel\(s\) on needs PRIVACY_URL"):
        Settings.from_env({**production, **slack})
    url = "https://careers.example.org/privacy"
    settings = Settings.from_env({**production, **slack, "PRIVACY_URL": url})
    assert (settings.channels.on(), settings.privacy_url()) == (["slack"], url)
    local = Settings.from_env(slack)  # make run: the careers page on this machine
    assert local.privacy_url() == f"http://127.0.0.1:{local.serving.web_port}/privacy"


def test_locally_the_sender_id_key_is_made_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.settings

    path = tmp_path / "var" / "sender-id-key"
    monkeypatch.setattr(bot.settings, "LOCAL_SENDER_ID_KEY_PATH", path)
    first = Settings.from_env({}).sender_id_secret()
    assert len(first) == 64
    assert Settings.from_env({}).sender_id_secret() == first
    assert path.stat().st_mode & 0o777 == 0o600


def test_privacy_defaults_keep_conversations_30_days_and_the_audit_a_year() -> None:
    privacy = Settings.from_env({}).privacy
    assert (privacy.retention_days, privacy.audit_retention_days) == (30, 365)
    assert (privacy.purge_interval_minutes, privacy.purge_batch) == (60, 200)
    assert (privacy.operator_name, privacy.operator_contact, privacy.dpo_contact) == (None,) * 3
    assert Settings.from_env({}).privacy_url() == "http://127.0.0.1:8080/privacy"


def test_privacy_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "LOG_RETENTION_DAYS": "7",
            "AUDIT_RETENTION_DAYS": "730",
            "LOG_PURGE_INTERVAL_MINUTES": "0",
            "PRIVACY_OPERATOR_NAME": "  NHS   Example Trust ",
            "PRIVACY_CONTACT": "ig@example.nhs.uk",
            "PRIVACY_URL": "https://careers.example.org/privacy",
        }
    )
    assert settings.privacy.retention_days == 7
    assert settings.privacy.audit_retention_days == 730
    assert settings.privacy.purge_interval_minutes == 0  # never: the CronJob purges
    assert settings.privacy.operator_name == "NHS Example Trust"
    assert settings.privacy.operator_contact == "ig@example.nhs.uk"
    assert settings.privacy_url() == "https://careers.example.org/privacy"


@pytest.mark.parametrize(
    ("name", "value"),
    [("LOG_RETENTION_DAYS", "0"), ("LOG_RETENTION_DAYS", "thirty"), ("LOG_RETENTION_DAYS", "²"),
     ("AUDIT_RETENTION_DAYS", "-1"), ("LOG_PURGE_INTERVAL_MINUTES", "1.5")],
)  # fmt: skip
def test_a_bad_period_stops_start_up(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
