"""The one way into Rasa (bot/rasa_command.py): each command installs the adaptations before
Rasa's own command line runs, and only `run` turns the API on, with the token from the settings."""

from __future__ import annotations

import sys

import pytest
import rasa.__main__

from bot import rasa_command, rasa_compat
from bot.registry import instances

TOKEN = "t" * 40


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What main() installs and what it hands Rasa's command line, in order; nothing runs."""
    calls: list[object] = []
    monkeypatch.setattr(rasa_compat, "install", lambda: calls.append("install"))
    monkeypatch.setattr(rasa_compat, "install_shell", lambda: calls.append("install_shell"))
    monkeypatch.setattr(instances, "install", lambda: calls.append("register"))
    monkeypatch.setattr(rasa.__main__, "main", lambda: calls.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["python"])
    return calls


def test_a_server_is_installed_registered_and_given_the_token(
    calls: list[object], settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("RASA_API_TOKEN", TOKEN)
    rasa_command.main(["run", "--port", "5005"])
    api = ["--enable-api", "--auth-token", TOKEN]
    assert calls == ["install", "register", ["rasa", "run", "--port", "5005", *api]]


def test_a_server_without_a_token_has_no_api(
    calls: list[object], settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.delenv("RASA_API_TOKEN", raising=False)
    settings_env.delenv("RASA_API_TOKEN_FILE", raising=False)
    rasa_command.main(["run", "--port", "5005"])
    assert calls == ["install", "register", ["rasa", "run", "--port", "5005"]]


def test_the_shell_gets_its_own_adaptations_and_never_the_api(
    calls: list[object], settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("RASA_API_TOKEN", TOKEN)
    rasa_command.main(["shell", "--model", "m.tar.gz"])
    assert calls == ["install_shell", ["rasa", "shell", "--model", "m.tar.gz"]]


@pytest.mark.parametrize("command", ["train", "test", "data"])
def test_the_other_commands_are_rasas_with_the_adaptations(
    calls: list[object], command: str
) -> None:
    rasa_command.main([command, "--out", "models"])
    assert calls == ["install", ["rasa", command, "--out", "models"]]


@pytest.mark.parametrize("argv", [[], ["serve"], ["interactive"], ["--model", "m.tar.gz"]])
def test_anything_else_is_refused_with_the_usage(calls: list[object], argv: list[str]) -> None:
    with pytest.raises(SystemExit, match=r"usage: python -m bot\.rasa_command"):
        rasa_command.main(argv)
    assert calls == []


def test_the_api_cannot_be_turned_on_from_the_command_line(calls: list[object]) -> None:
    with pytest.raises(SystemExit, match="RASA_API_TOKEN"):
        rasa_command.main(["run", "--auth-token=secret"])
    assert calls == []
