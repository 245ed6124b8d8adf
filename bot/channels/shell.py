"""The terminal chat (`rasa shell`), with an answer's sources printed as title and raw URL.

Rasa 3.6's shell talks to the server through its own "cmdline" channel, a stock REST channel
whose replies drop the `sources` an action sends (bot/channels/replies.py), and prints only the
text and buttons of each reply (rasa.core.channels.console._print_bot_output). Here the
"cmdline" channel is our REST channel (limits, namespaced conversation ids, `sources` in the
JSON), and each reply is printed with its sources after the text:

    Source: NHS Careers: Radiography assistants and imaging support workers
    http://www.nhscareers.nhs.uk/...

Both are put in place by bot.rasa_compat.install_shell(), with Rasa's other adaptations, when
the shell is started as `python -m bot.rasa_command shell <rasa shell arguments>` (what
`python -m bot shell` starts).
"""

from __future__ import annotations

from typing import Any

from bot.channels.replies import plain_sources, sources_from, with_paragraph
from bot.channels.rest import RestInput


class ShellInput(RestInput):
    """The REST channel under the name the shell looks for; its URL stays /webhooks/rest."""

    @classmethod
    def name(cls) -> str:
        return "cmdline"

    def url_prefix(self) -> str:
        return RestInput.name()


def with_sources_as_text(message: dict[str, Any]) -> dict[str, Any]:
    """A reply as the shell prints it: its text followed by its sources (title, then URL)."""
    sources = sources_from(message)
    if not sources:
        return message
    return {**message, "text": with_paragraph(message.get("text"), plain_sources(sources))}
