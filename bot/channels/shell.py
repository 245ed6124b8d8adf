"""The terminal chat (`rasa shell`), with an answer's sources printed as title and raw URL.

Rasa 3.6's shell talks to the server through its own "cmdline" channel, a stock REST channel
whose replies drop the `sources` an action sends (bot/channels/replies.py), and prints only the
text and buttons of each reply (rasa.core.channels.console._print_bot_output). `install()`
replaces both, in this one place: the "cmdline" channel becomes our REST channel (limits,
namespaced conversation ids, `sources` in the JSON), and each reply is printed with its
sources after the text:

    Source: NHS Careers: Radiography assistants and imaging support workers
    http://www.nhscareers.nhs.uk/...

Run it as `python -m bot.channels.shell <rasa shell arguments>` (what `python -m bot shell`
should start instead of `rasa shell`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import rasa
import rasa.core.channels
import rasa.core.channels.console as console

from bot.channels.replies import plain_sources, sources_from, with_paragraph
from bot.channels.rest import RestInput

RASA_VERSION = "3.6.21"
_ORIGINAL_PRINT = console._print_bot_output


class ShellInput(RestInput):
    """The REST channel under the name the shell looks for; its URL stays /webhooks/rest."""

    @classmethod
    def name(cls) -> str:
        return "cmdline"

    def url_prefix(self) -> str:
        return RestInput.name()


def print_bot_output(message: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """Rasa's printer, given the text followed by the reply's sources (title, then URL)."""
    sources = sources_from(message)
    if sources:
        message = {**message, "text": with_paragraph(message.get("text"), plain_sources(sources))}
    return _ORIGINAL_PRINT(message, *args, **kwargs)


def install() -> None:
    """Replace the shell's channel and printer (checked against the Rasa version they fit)."""
    if rasa.__version__ != RASA_VERSION:
        raise RuntimeError(
            f"bot.channels.shell was written for Rasa {RASA_VERSION}, not {rasa.__version__}: "
            "check rasa.core.channels.console before changing the version"
        )
    assert rasa.core.channels.BUILTIN_CHANNELS["cmdline"] is console.CmdlineInput
    rasa.core.channels.BUILTIN_CHANNELS["cmdline"] = ShellInput
    console._print_bot_output = print_bot_output


def main(argv: Sequence[str]) -> None:
    """`rasa shell <argv>`, with our channel and printer."""
    from rasa.__main__ import main as rasa_main

    install()
    sys.argv = ["rasa", "shell", *argv]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
