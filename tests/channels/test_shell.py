"""The terminal chat: Rasa's shell with our REST channel and a printer that shows sources."""

from __future__ import annotations

import pytest
import rasa.core.channels
import rasa.core.channels.console as console

from bot.channels import shell
from bot.channels.rest import RestInput


def test_install_puts_our_rest_channel_and_printer_in_the_shell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(rasa.core.channels.BUILTIN_CHANNELS, "cmdline", console.CmdlineInput)
    monkeypatch.setattr(console, "_print_bot_output", console._print_bot_output)
    shell.install()
    channel = rasa.core.channels.BUILTIN_CHANNELS["cmdline"].from_credentials(None)
    assert isinstance(channel, RestInput)
    assert (channel.name(), channel.url_prefix()) == ("cmdline", "rest")
    assert console._print_bot_output is shell.print_bot_output


def test_install_refuses_another_rasa_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match=r"written for Rasa 3\.6\.21"):
        shell.install()


def test_a_reply_without_sources_is_printed_as_rasa_prints_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    shell.print_bot_output({"text": "Hello"})
    assert "Hello" in capsys.readouterr().out
