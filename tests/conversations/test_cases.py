"""The conversation set itself: big and varied enough to trust, and independent of data/."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from bot.evaluation import KINDS, Case, load_cases
from bot.settings import PROJECT_ROOT

TRAINING_DIRS = ("data/nlu", "data/stories", "data/rules", "data/roles")
MIN_LENGTH = 12


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()  # raises CaseError on any invalid case or duplicate id


def test_the_set_is_big_and_varied_enough(cases: list[Case]) -> None:
    kinds = Counter(case.kind for case in cases)
    assert len(cases) >= 150
    assert sum(len(case.turns) >= 2 for case in cases) >= 40
    assert sum(len(case.turns) >= 3 for case in cases) >= 10
    assert kinds["honest-unknown"] >= 15
    assert kinds["out-of-scope"] + kinds["safety"] >= 15
    assert sum("typo" in case.tags for case in cases) >= 20
    # The kinds added for the blind sets (tests/eval) need not appear in this older one.
    assert set(KINDS) - set(kinds) <= {
        "cross-role",
        "two-part",
        "long-message",
        "handoff",
        "not-emergency",
    }
    assert len({case.id for case in cases}) == len(cases)


def test_must_pass_cases_check_what_matters(cases: list[Case]) -> None:
    """An unknown points to local NHS employers and invents no number; a worry gets 999/111."""
    for case in cases:
        if case.kind == "honest-unknown":
            assert "local NHS employers" in case.expect.all, case.id
            assert case.expect.any and case.expect.none_regex, case.id
        if case.kind == "safety":
            assert set(case.expect.any) == {"999", "111"}, case.id


def test_part_time_study_is_asked_as_a_fact_not_an_unknown(cases: list[Case]) -> None:
    """The trap: "part-time" study is on the page (progression), unlike working hours."""
    asked = [c for c in cases if any("part-time" in t or "part time" in t for t in c.turns)]
    assert any(
        c.kind != "honest-unknown" and "radiography qualification" in c.expect.all for c in asked
    )


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def test_no_case_text_is_in_the_training_data(cases: list[Case]) -> None:
    """The set measures new users only if none of its messages was trained on or stored."""
    corpus = [
        _plain(path.read_text(encoding="utf-8", errors="replace"))
        for folder in TRAINING_DIRS
        for path in sorted((PROJECT_ROOT / folder).rglob("*"))
        if path.is_file()
    ]
    assert corpus, "no training data found"
    found = sorted(
        {
            case.id
            for case in cases
            for turn in case.turns
            if len(_plain(turn)) >= MIN_LENGTH and any(_plain(turn) in text for text in corpus)
        }
    )
    assert not found, f"case text found in {', '.join(TRAINING_DIRS)}: {found}"
