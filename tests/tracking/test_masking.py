"""Personal data is masked before a conversation is stored; careers talk is left alone."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import PROJECT_ROOT
from bot.store import Content
from bot.tracking.masking import is_valid_nhs_number, mask, mask_event, passes_luhn

# 943 476 5919 is the NHS's own example number; 401 023 2137 another valid one.
VALID_NHS = ["9434765919", "4010232137"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is jo.bloggs+jobs@nhs.net ok", "my email is [email] ok"),
        ("Email: A.Person@Example.CO.UK.", "Email: [email]."),
        ("mail me (jo_b@mail.example.org)", "mail me ([email])"),
        ("NHS number 943 476 5919", "NHS number [nhs number]"),
        ("nhs no 943-476-5919, thanks", "nhs no [nhs number], thanks"),
        ("9434765919", "[nhs number]"),
        ("4010232137 is mine", "[nhs number] is mine"),
        ("call 07700 900123", "call [phone]"),
        ("call 07700900123 please", "call [phone] please"),
        ("mobile: 07700-900-123", "mobile: [phone]"),
        ("+44 7700 900123", "[phone]"),
        ("+447700900123", "[phone]"),
        ("0044 7700 900123", "[phone]"),
        ("+44 (0)20 7946 0958", "[phone]"),
        ("(020) 7946 0958", "[phone]"),
        ("020 7946 0958", "[phone]"),
        ("ring 0161 496 0000 today", "ring [phone] today"),
        ("01632 960001", "[phone]"),
        ("0800 123 4567", "[phone]"),
        ("I live at SW1A 1AA", "I live at [postcode]"),
        ("postcode m1 1ae please", "postcode [postcode] please"),
        ("near B33 8TH.", "near [postcode]."),
        ("cr26xh", "[postcode]"),
        ("EC1A 1BB and W1A 0AX", "[postcode] and [postcode]"),
        ("DN55 1PT", "[postcode]"),
        # Ten digits that fail the NHS check are still masked, as some other identifier.
        ("ref 123 456 7890", "ref [number]"),
        (
            "I'm jo@x.org, 07700 900123, LS1 4AP, NHS 943 476 5919",
            "I'm [email], [phone], [postcode], NHS [nhs number]",
        ),
        # National Insurance numbers, with or without spaces and suffix.
        ("my NI number is QQ 12 34 56 C", "my NI number is [ni number]"),
        ("ni: qq123456c.", "ni: [ni number]."),
        ("AB123456", "[ni number]"),
        # Payment cards (Luhn), grouped or not; a failing 16 digits is still a [number].
        ("card 4111 1111 1111 1111 exp", "card [card number] exp"),
        ("5500-0000-0000-0004", "[card number]"),
        ("378282246310005", "[card number]"),
        ("4111 1111 1111 1112", "[number]"),
        # Dotted, international and +-less phone numbers.
        ("call 07700.900.123", "call [phone]"),
        ("020.7946.0958", "[phone]"),
        ("+33 1 23 45 67 89", "[phone]"),
        ("+1 (555) 123-4567 or", "[phone] or"),
        ("+91 98765 43210", "[phone]"),
        ("+353 85 123 4567", "[phone]"),
        ("447700900123", "[number]"),
        ("44 7700 900123", "[number]"),
        ("7700 900123", "[number]"),
        ("0033 1 23 45 67 89", "[number]"),
        ("(555) 123-4567", "[number]"),
        # Dates (of birth, most likely).
        ("born 01/02/1990", "born [date]"),
        ("dob 1.2.90 thanks", "dob [date] thanks"),
        ("DOB: 31-12-2001", "DOB: [date]"),
        ("1990-02-01", "[date]"),
        ("12/31/1990", "[date]"),
        ("born on 1st February 1990", "born on [date]"),
        ("3 of march, 1985", "[date]"),
        ("born Feb 1, 1990.", "born [date]."),
    ],
)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "level 3 apprenticeship",
        "It may be possible to get into this role through a level 3 (advanced) apprenticeship.",
        "four (or more) GCSEs",
        "you need GCSEs at grades 9 to 4 (A* to C)",
        "NHS 111",
        "call 999 now",
        "go to 111.nhs.uk",
        "band 5 to 6, about 37.5 hours",
        "£25,000 a year",
        "between 2019 and 2024",
        "in 2019 2020",
        "an NVQ level 2 or 3",
        "http://www.nhscareers.nhs.uk/explore-by-career/",
        "I am 17",
        "AP vs ISW",
        "4 GCSEs",
        "level 3",
        "call 111 or 999",
        "starting in September 2025",
        "in 2019 2020 2021",
        "from 2019-2024",
        "band 5, 37.5 hours, £25,000 to £35,000",
        "3 or 4 days a week, 9 to 5",
        "version 1.2.3",
        "A levels: 2 of them",
        "what's the difference between an AP and a radiography assistant",
        "call 07700",  # too short for a phone number
        "12 345",
        "A1 road",
        "",
    ],
)
def test_careers_talk_is_left_alone(text: str) -> None:
    assert mask(text) == text


def test_nhs_check_digit() -> None:
    assert all(is_valid_nhs_number(n) for n in VALID_NHS)
    assert not is_valid_nhs_number("9434765918")  # last digit wrong
    assert not is_valid_nhs_number("1234567890")  # check digit would be 10: never valid
    assert not is_valid_nhs_number("943476591")


def test_every_fact_and_response_of_the_assistant_is_left_alone(content: Content) -> None:
    """What the assistant itself says is stored too: masking must not garble it."""
    texts = [f.text for f in content.facts] + [f.quote for f in content.facts]
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    for variants in domain["responses"].values():
        texts += [v["text"] for v in variants if "text" in v]
    changed = [t for t in texts if mask(t) != t]
    assert changed == []


def test_training_examples_are_left_alone() -> None:
    """No example users type in training data looks like personal data."""
    changed = []
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text())["nlu"]:
            for line in item.get("examples", "").splitlines():
                text = line.strip().removeprefix("- ")
                if mask(text) != text:
                    changed.append(text)
    assert changed == []


def test_mask_event_masks_every_copy_of_the_text_but_not_structure() -> None:
    text = "I'm jo@example.com"
    event = {
        "event": "user",
        "timestamp": 1.5,
        "text": text,
        "parse_data": {
            "intent": {"name": "greet", "confidence": 0.9},
            "entities": [{"entity": "email", "value": "jo@example.com", "start": 4, "end": 18}],
            "text": text,
            "message_id": "0123456789abcdef",
            "metadata": {"note": ["call 07700 900123"]},
        },
        "input_channel": "rest",
        "message_id": "9434765919",
    }
    masked = mask_event(event)
    assert masked["text"] == masked["parse_data"]["text"] == "I'm [email]"
    assert masked["parse_data"]["entities"][0]["value"] == "[email]"
    assert masked["parse_data"]["metadata"] == {"note": ["call [phone]"]}
    assert masked["parse_data"]["intent"] == {"name": "greet", "confidence": 0.9}
    assert masked["message_id"] == "9434765919"  # an id, not user text
    assert event["text"] == text  # the input is not changed


def _nhs(digits: list[int]) -> str | None:
    total = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else "".join(map(str, digits)) + str(check)


words = st.text(alphabet="abcdefghij klmnop,.?!", max_size=30)


@given(
    before=words,
    after=words,
    digits=st.lists(st.integers(0, 9), min_size=9, max_size=9),
    separator=st.sampled_from(["", " ", "-"]),
)
def test_any_valid_nhs_number_is_masked(
    before: str, after: str, digits: list[int], separator: str
) -> None:
    number = _nhs(digits)
    if number is None:
        return
    spaced = separator.join([number[:3], number[3:6], number[6:]])
    masked = mask(f"{before} {spaced} {after}")
    assert number not in masked.replace(" ", "").replace("-", "")


@given(
    before=words,
    after=words,
    subscriber=st.integers(100_000, 999_999),
    prefix=st.sampled_from(["07700 ", "+44 7700 ", "+447700", "07700"]),
)
def test_any_mobile_number_is_masked(before: str, after: str, subscriber: int, prefix: str) -> None:
    assert "[phone]" in mask(f"{before} {prefix}{subscriber} {after}")


@given(st.text(max_size=80))
def test_masking_is_idempotent(text: str) -> None:
    once = mask(text)
    assert mask(once) == once


def test_client_metadata_is_masked_whatever_its_keys() -> None:
    """Keys that hold structure in what Rasa builds ("name", "message_id") are trusted only
    there: under client-sent metadata, at any depth, every string is masked."""
    event = {
        "event": "user",
        "name": "not a real key of user events",
        "text": "hello",
        "metadata": {
            "name": "Jane 07700 900123",
            "message_id": "QQ123456C",
            "user": {"name": "jane.doe@example.com", "entity": ["SW1A 1AA"]},
        },
        "parse_data": {"metadata": {"event": "born 01/02/1990"}},
    }
    masked = mask_event(event)
    assert masked["metadata"] == {
        "name": "Jane [phone]",
        "message_id": "[ni number]",
        "user": {"name": "[email]", "entity": ["[postcode]"]},
    }
    assert masked["parse_data"]["metadata"] == {"event": "born [date]"}
    assert masked["name"] == event["name"]


@given(
    digits=st.lists(st.integers(0, 9), min_size=15, max_size=15),
    grouped=st.booleans(),
)
def test_any_card_number_is_masked(digits: list[int], grouped: bool) -> None:
    body = "".join(map(str, digits))
    check = next(str(d) for d in range(10) if passes_luhn(body + str(d)))
    number = body + check
    text = " ".join(number[i : i + 4] for i in range(0, 16, 4)) if grouped else number
    masked = mask(f"my card is {text} ok")
    assert masked == "my card is [card number] ok"
