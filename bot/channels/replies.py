"""What the messaging channels share when they turn a reply into platform messages.

Pure functions: splitting a long answer within a platform's limit, on paragraph, then line,
then word boundaries (so a link is never cut), and turning a bare number the user sends back
into the payload of the option with that number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# Tried in order: paragraphs, lines, words; a single word longer than the limit is cut.
_SEPARATORS = ("\n\n", "\n", " ")
_OPTION_NUMBER = re.compile(r"\s*#?(\d{1,2})\s*[.)]?\s*")
# When a message has options but no text (platforms need some text to attach them to).
CHOOSE = "Please choose:"


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
