"""Mask personal data in what people type, before a conversation is stored.

Pure functions: `mask(text)` replaces e-mail addresses, NHS numbers, UK phone numbers and
postcodes with a label ([email], [nhs number], [phone], [postcode]); any other 10-11 digit
number is masked as [number], since it is more likely an identifier than careers talk.
Short numbers ("level 3", "NHS 111", "999", "GCSEs 9 to 4") are left alone.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = "[email]"
NHS_NUMBER = "[nhs number]"
PHONE = "[phone]"
POSTCODE = "[postcode]"
NUMBER = "[number]"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
# Ten digits, together or 3-3-4 with spaces or dashes; not glued to other digits or letters.
_TEN_DIGITS = re.compile(r"(?<![\w+])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\w])")
# A UK number: +44 / 0044 (optionally "(0)") or a leading 0 (optionally in brackets), then
# digits with single spaces, dashes or a closing bracket between them. The digit count is
# checked in _phone_or_none, so this may over-match.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)\d(?:[ \-)]{0,2}\d){7,11}(?![\w])"
)
# The UK postcode format (any case, space optional), as used by Royal Mail and gov.uk.
_POSTCODE = re.compile(
    r"(?<![\w])(?:GIR ?0AA|"
    r"[A-PR-UWYZ](?:\d[\dA-HJKPSTUW]?|[A-HK-Y]\d[\dABEHMNPRV-Y]?) ?\d[ABD-HJLNP-UW-Z]{2})"
    r"(?![\w])",
    re.IGNORECASE,
)
_LONG_NUMBER = re.compile(r"(?<![\w])\d(?:[ -]?\d){9,10}(?![\w])")

# Keys of a Rasa event whose values are structure (names, ids, sources), never user text.
_STRUCTURAL_KEYS = frozenset(
    {
        "event",
        "timestamp",
        "name",
        "policy",
        "action_name",
        "intent_name",
        "input_channel",
        "message_id",
        "model_id",
        "assistant_id",
        "entity",
        "extractor",
        "processors",
        "confidence",
        "start",
        "end",
    }
)


def is_valid_nhs_number(digits: str) -> bool:
    """The NHS number modulus-11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _nhs_number(match: re.Match[str]) -> str:
    digits = "".join(match.groups())
    return NHS_NUMBER if is_valid_nhs_number(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if text.startswith(("+", "00")):
        national = digits[4:] if digits.startswith("0044") else digits[2:]
        national = national.removeprefix("0") if "(0)" in text else national
    else:
        national = digits[1:]
    # UK numbers have 9 or 10 digits after the 0 (or +44); 7 and 8 start mobiles and
    # 1, 2, 3, 5, 8 geographic and non-geographic ones.
    if len(national) in (9, 10) and national[0] in "1235789":
        return PHONE
    return text


def mask(text: str) -> str:
    """`text` with personal data replaced by labels; text without any is returned unchanged."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _TEN_DIGITS.sub(_nhs_number, text)
    text = _PHONE.sub(_phone, text)
    text = _POSTCODE.sub(POSTCODE, text)
    return _LONG_NUMBER.sub(NUMBER, text)


def mask_event(data: Any, key: str | None = None) -> Any:
    """A serialised Rasa event (or part of one) with every string of free text masked.

    User text is repeated in several places (`text`, `parse_data.text`, entity values, slot
    values filled from entities, metadata), so every string is masked except the values of
    keys that only ever hold structure (event type, names, ids).
    """
    if isinstance(data, str):
        return data if key in _STRUCTURAL_KEYS else mask(data)
    if isinstance(data, dict):
        return {k: v if k in _STRUCTURAL_KEYS else mask_event(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_event(item, key) for item in data]
    return data
