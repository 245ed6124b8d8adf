"""Splitting long answers and numbered options (bot/channels/replies.py)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.replies import numbered_options, option_number, option_payload, split_text

OPTIONS = [
    {"title": "Helpful", "payload": "/feedback_helpful"},
    {"title": "Not helpful", "payload": "/feedback_not_helpful"},
]


def test_short_text_is_one_part() -> None:
    assert split_text("  What they do:\n- this\n\nSource  ", 100) == [
        "What they do:\n- this\n\nSource"
    ]


def test_empty_text_is_no_part() -> None:
    assert split_text(" \n\n ", 10) == []


def test_paragraphs_are_packed_together_up_to_the_limit() -> None:
    text = "aaaa\n\nbbbb\n\ncccc"
    assert split_text(text, 10) == ["aaaa\n\nbbbb", "cccc"]


def test_a_long_paragraph_is_split_between_lines() -> None:
    text = "intro\n\nline one\nline two\nline three"
    assert split_text(text, 20) == ["intro", "line one\nline two", "line three"]


def test_the_rest_of_a_split_paragraph_joins_the_next_one() -> None:
    text = "one one\ntwo two\n\nthree"
    assert split_text(text, 14) == ["one one", "two two\n\nthree"]


def test_a_long_line_is_split_between_words_and_links_stay_whole() -> None:
    url = "https://www.healthcareers.nhs.uk/explore-roles/allied-health-professionals"
    text = f"Read more at {url} today"
    assert split_text(text, len(url) + 2) == ["Read more at", url, "today"]


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@given(
    st.lists(
        st.text(alphabet="ab \n", min_size=1, max_size=30).filter(str.strip),
        min_size=1,
        max_size=20,
    ),
    st.integers(min_value=5, max_value=60),
)
def test_parts_respect_the_limit_and_keep_every_word(pieces: list[str], limit: int) -> None:
    # Words no longer than the limit, so nothing is cut mid-word.
    text = "\n\n".join(piece[:limit] for piece in pieces)
    parts = split_text(text, limit)
    assert all(0 < len(part) <= limit for part in parts)
    assert re.findall(r"\S+", " ".join(parts)) == re.findall(r"\S+", text)


def test_numbered_options() -> None:
    assert numbered_options(OPTIONS) == "Reply with a number:\n1. Helpful\n2. Not helpful"


def test_a_number_is_the_payload_of_that_option() -> None:
    assert option_payload("2", OPTIONS) == "/feedback_not_helpful"
    assert option_payload(" 1. ", OPTIONS) == "/feedback_helpful"
    assert option_payload("#2", OPTIONS) == "/feedback_not_helpful"


def test_other_replies_are_not_options() -> None:
    assert option_payload("3", OPTIONS) is None
    assert option_payload("0", OPTIONS) is None
    assert option_payload("2", []) is None
    assert option_payload("level 2", OPTIONS) is None
    assert option_payload("999", OPTIONS) is None
    assert option_payload(None, OPTIONS) is None
    assert option_number("GCSE 4") is None
