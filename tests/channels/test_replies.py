"""Splitting long answers and numbered options (bot/channels/replies.py)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.replies import (
    Source,
    numbered_options,
    option_number,
    option_payload,
    plain_sources,
    sources_from,
    sources_paragraph,
    split_text,
    with_paragraph,
)

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


# --- sources ---------------------------------------------------------------------------
def test_sources_are_checked_http_urls_with_titles() -> None:
    given = [
        {"title": "  NHS   Careers\n page ", "url": "http://www.nhscareers.nhs.uk/x"},
        {"title": "NHS Careers page", "url": "http://www.nhscareers.nhs.uk/x"},  # the same
        {"title": "", "url": "https://www.sor.org/"},  # no title: the URL stands for it
        {"title": "js", "url": "javascript:alert(1)"},
        {"title": "data", "url": "data:text/html,x"},
        {"title": "relative", "url": "/explore-by-career"},
        {"title": "spaces", "url": "https://example.org/a b"},
        {"title": "no url"},
        "http://example.org/not-an-object",
        None,
    ]
    assert sources_from({"sources": given}) == [
        Source("NHS Careers page", "http://www.nhscareers.nhs.uk/x"),
        Source("https://www.sor.org/", "https://www.sor.org/"),
    ]
    assert sources_from({}) == []
    assert sources_from({"sources": "http://example.org/"}) == []


def test_sources_as_a_paragraph_and_as_plain_text() -> None:
    one = [Source("Page", "https://example.org/p")]
    two = [*one, Source("Other", "https://example.org/o")]
    assert sources_paragraph(one, lambda s: f"[{s.title}]") == "Source: [Page]"
    assert sources_paragraph(two, lambda s: f"[{s.title}]") == "Sources:\n- [Page]\n- [Other]"
    assert sources_paragraph([], str) == ""
    assert plain_sources(one) == "Source: Page\nhttps://example.org/p"
    assert plain_sources(two) == (
        "Sources:\n- Page\n  https://example.org/p\n- Other\n  https://example.org/o"
    )
    assert with_paragraph(" Text \n", "Source: x") == "Text\n\nSource: x"
    assert with_paragraph(None, "Source: x") == "Source: x"
    assert with_paragraph("Text", "") == "Text"
