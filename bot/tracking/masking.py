"""Mask personal data in what people type, before a conversation is stored.

Pure functions: `mask(text)` replaces e-mail addresses, NHS numbers, National Insurance
numbers, payment card numbers, phone numbers (UK in any usual writing, and international),
dates (of birth, most likely) and postcodes with a label; any other run of nine or more digits
becomes [number], since it is more likely an identifier (or a phone number written without
its +) than careers talk. Short numbers ("level 3", "NHS 111", "999", "4 GCSEs", "£25,000",
"between 2019 and 2024") are left alone.
"""

from __future__ import annotations

import re
from typing import Any

EMAIL = "[email]"
NHS_NUMBER = "[nhs number]"
NI_NUMBER = "[ni number]"
CARD_NUMBER = "[card number]"
PHONE = "[phone]"
DATE = "[date]"
POSTCODE = "[postcode]"
NUMBER = "[number]"

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])"
)
# Ten digits, together or 3-3-4 with spaces, dashes or dots; not glued to other digits.
_TEN_DIGITS = re.compile(r"(?<![\w+.])(\d{3})[ .-]?(\d{3})[ .-]?(\d{4})(?![\w]|\.\d)")
# 13 to 19 digits, together or in groups (4-4-4-4, 4-6-5, ...): checked with Luhn.
_CARD = re.compile(r"(?<![\w+.])\d(?:[ -]?\d){12,18}(?![\w]|\.\d)")
# A UK number: +44 / 0044 (optionally "(0)") or a leading 0 (optionally in brackets), then
# digits with single spaces, dashes, dots or a closing bracket between them. The digit count
# is checked in _phone, so this may over-match.
_PHONE = re.compile(
    r"(?<![\w+.])(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?|\(?0)\d(?:[ \-.)]{0,2}\d){7,11}(?![\w]|\.\d)"
)
# Any international number: + and a country code, 8 to 15 digits in all (E.164).
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\s?\d(?:[ \-.()]{0,2}\d){7,14}(?![\w]|\.\d)")
# National Insurance numbers: two letters, three pairs of digits, the suffix A-D (optional:
# people leave it off). Any letters: HMRC's own example, QQ 12 34 56 C, uses unissued ones.
_NI_NUMBER = re.compile(r"(?<![\w])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2}(?: ?[A-D])?(?![\w])", re.I)
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"
# A whole date: 01/02/1990, 1.2.90, 1990-02-01, 1st February 1990, February 1, 1990. A year
# alone ("in 2019") or a month and year ("September 2025") is not a date of birth.
_DATE = re.compile(
    rf"(?<![\w/.-])(?:{_DAY}([/.-]){_MONTH_NUMBER}\1(?:{_YEAR}|\d{{2}})"
    rf"|{_MONTH_NUMBER}/{_DAY}/{_YEAR}"
    rf"|{_YEAR}([/.-]){_MONTH_NUMBER}\2{_DAY}"
    rf"|{_DAY}(?:st|nd|rd|th)?(?: of)? {_MONTHS},? {_YEAR}"
    rf"|{_MONTHS} {_DAY}(?:st|nd|rd|th)?,? {_YEAR})(?![\w/-]|\.\d)",
    re.I,
)
# The UK postcode format (any case, space optional), as used by Royal Mail and gov.uk.
_POSTCODE = re.compile(
    r"(?<![\w])(?:GIR ?0AA|"
    r"[A-PR-UWYZ](?:\d[\dA-HJKPSTUW]?|[A-HK-Y]\d[\dABEHMNPRV-Y]?) ?\d[ABD-HJLNP-UW-Z]{2})"
    r"(?![\w])",
    re.IGNORECASE,
)
# Nine or more digits, together or with single separators: an identifier or a phone number.
_LONG_NUMBER = re.compile(r"(?<![\w.])\(?\d(?:[ \-.()]{0,2}\d){8,}(?![\w]|\.\d)")
_YEARS = re.compile(r"(?:(?:19|20)\d{2}[ ,-]*)+")

# Keys of a Rasa event whose values are structure (names, ids, sources), never user text.
# They are trusted only in what Rasa itself builds: anywhere under "metadata", which a client
# sends, every string is masked, whatever its key.
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
_CLIENT_KEYS = frozenset({"metadata"})


def is_valid_nhs_number(digits: str) -> bool:
    """The NHS number modulus-11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def passes_luhn(digits: str) -> bool:
    """The Luhn check every payment card number passes."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _nhs_number(match: re.Match[str]) -> str:
    digits = "".join(match.groups())
    return NHS_NUMBER if is_valid_nhs_number(digits) else match.group(0)


def _card(match: re.Match[str]) -> str:
    return CARD_NUMBER if passes_luhn(re.sub(r"\D", "", match.group(0))) else match.group(0)


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


def _long_number(match: re.Match[str]) -> str:
    text = match.group(0)
    # A list of years ("2019 2020 2021") is careers talk, not an identifier.
    return text if _YEARS.fullmatch(text) else NUMBER


def mask(text: str) -> str:
    """`text` with personal data replaced by labels; text without any is returned unchanged."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL, text)
    text = _DATE.sub(DATE, text)
    text = _TEN_DIGITS.sub(_nhs_number, text)
    text = _CARD.sub(_card, text)
    text = _PHONE.sub(_phone, text)
    text = _INTERNATIONAL.sub(PHONE, text)
    text = _NI_NUMBER.sub(NI_NUMBER, text)
    text = _POSTCODE.sub(POSTCODE, text)
    return _LONG_NUMBER.sub(_long_number, text)


def mask_event(data: Any, key: str | None = None, trusted: bool = True) -> Any:
    """A serialised Rasa event (or part of one) with every string of free text masked.

    User text is repeated in several places (`text`, `parse_data.text`, entity values, slot
    values filled from entities, metadata), so every string is masked except the values of
    keys that only ever hold structure (event type, names, ids) in what Rasa builds.
    """
    if isinstance(data, str):
        return data if trusted and key in _STRUCTURAL_KEYS else mask(data)
    if isinstance(data, dict):
        return {
            k: v
            if trusted and k in _STRUCTURAL_KEYS and not isinstance(v, (dict, list))
            else mask_event(v, k, trusted and k not in _CLIENT_KEYS)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [mask_event(item, key, trusted) for item in data]
    return data
