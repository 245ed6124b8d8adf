"""What the messaging channels share when they turn a reply into platform messages.

Texts and pure functions: the apology, the privacy notice a new conversation's first reply
starts with, splitting a long answer within a platform's limit, on paragraph, then line, then
word boundaries (so a link is never cut), turning a bare number the user sends back into the
payload of the option with that number, and an answer's sources.

Sources travel as data, not text: an action sends `sources=[{"title": ..., "url": ...}]` with
its message, Rasa hands the key to the output channel's send_* methods in **kwargs, and each
channel renders them as its platform allows: the page title as a link where links can be shown
(`sources_paragraph` with the channel's own link syntax), the title and the raw URL where they
cannot (`plain_sources`: SMS, the terminal).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# Tried in order: paragraphs, lines, words; a single word longer than the limit is cut.
_SEPARATORS = ("\n\n", "\n", " ")
_OPTION_NUMBER = re.compile(r"\s*#?(\d{1,2})\s*[.)]?\s*")
# When a message has options but no text (platforms need some text to attach them to).
CHOOSE = "Please choose:"
# What the user is told when their message, or a custom action, could not be handled (a part
# of the service is down): sent by the channels (bot/channels/webhooks.py), by the remote
# action adaptation (bot/rasa_compat.py), and by nginx when no Rasa instance answers.
APOLOGY = (
    "Sorry, I can't answer that right now because part of the service is unavailable. "
    "Please try again in a few minutes."
)


def privacy_notice(retention_days: int, privacy_url: str) -> str:
    """The line the first reply of a new conversation on a messaging channel starts with."""
    days = f"{retention_days} day{'' if retention_days == 1 else 's'}"
    return (
        f"I'm an automated assistant. Conversations are kept for {days} and read by the careers "
        f'team to improve me; write "delete my conversation" to erase yours. Privacy notice: '
        f"{privacy_url}"
    )


def split_text(text: str, limit: int) -> list[str]:
    """`text` as parts of at most `limit` characters, each as long as the boundaries allow."""
    text = text.strip()
    if not text:
        return []
    return [part for part in (p.strip() for p in _pack(text, limit, _SEPARATORS)) if part]


def _pack(text: str, limit: int, separators: Sequence[str]) -> list[str]:
    if len(text) <= limit:
        return [text]
    if not separators:
        return [text[start : start + limit] for start in range(0, len(text), limit)]
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        joined = f"{current}{separator}{piece}" if current else piece
        if len(joined) <= limit:
            current = joined
            continue
        if current:
            parts.append(current)
        if len(piece) <= limit:
            current = piece
        else:
            *whole, current = _pack(piece, limit, finer)
            parts.extend(whole)
    if current:
        parts.append(current)
    return parts


def numbered_options(buttons: Sequence[dict[str, Any]]) -> str:
    """Buttons as text, for channels without buttons (SMS): the user replies with a number."""
    lines = [f"{number}. {button['title']}" for number, button in enumerate(buttons, start=1)]
    return "\n".join(["Reply with a number:", *lines])


def option_number(text: str | None) -> int | None:
    """The number in a reply that is only a number ("2", " 2. ", "#2"), else None."""
    match = _OPTION_NUMBER.fullmatch(text or "")
    return int(match.group(1)) if match else None


def option_payload(text: str | None, buttons: Sequence[dict[str, Any]]) -> str | None:
    """The payload of option `text` ("2", "2.", "#2") among `buttons`, or None if it is not one."""
    number = option_number(text)
    if number is None or not 1 <= number <= len(buttons):
        return None
    payload = buttons[number - 1].get("payload")
    return payload if isinstance(payload, str) and payload else None


@dataclass(frozen=True)
class Source:
    """Where an answer comes from: a page's title and its http(s) URL."""

    title: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "url": self.url}


def _web_url(url: Any) -> str | None:
    """`url` when it is an absolute http(s) URL without spaces or control characters."""
    if not isinstance(url, str) or not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def sources_from(kwargs: dict[str, Any]) -> list[Source]:
    """The `sources` of a bot message (from an output channel's **kwargs), each checked.

    A source whose URL is not http(s) (`javascript:`, `data:`) is dropped, and logged: no channel
    may turn it into a link. A missing title is shown as the URL; duplicates are dropped.
    """
    given = kwargs.get("sources")
    if not isinstance(given, list):
        return []
    found: list[Source] = []
    for item in given:
        url = _web_url(item.get("url")) if isinstance(item, dict) else None
        if url is None:
            logger.warning("a source without an http(s) URL was dropped: %r", item)
            continue
        title = item.get("title")
        title = " ".join(title.split()) if isinstance(title, str) else ""
        source = Source(title or url, url)
        if source not in found:
            found.append(source)
    return found


def sources_paragraph(sources: Sequence[Source], link: Callable[[Source], str]) -> str:
    """The sources as the paragraph that ends an answer, each made a link by `link`."""
    if not sources:
        return ""
    if len(sources) == 1:
        return f"Source: {link(sources[0])}"
    return "\n".join(["Sources:", *(f"- {link(source)}" for source in sources)])


def plain_sources(sources: Sequence[Source]) -> str:
    """The sources as text, for channels without links: each title, then its raw URL."""
    if len(sources) == 1:
        return f"Source: {sources[0].title}\n{sources[0].url}"
    return sources_paragraph(sources, lambda source: f"{source.title}\n  {source.url}")


def with_paragraph(text: str | None, paragraph: str) -> str:
    """`text` with `paragraph` after it (a blank line between), either of them maybe empty."""
    return "\n\n".join(part for part in ((text or "").strip(), paragraph) if part)
