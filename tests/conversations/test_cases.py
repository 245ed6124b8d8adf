"""The conversation set itself: big and varied enough to trust, and independent of data/."""

from __future__ import annotations

import re

import pytest

from bot.evaluation import Case, load_cases
from bot.settings import PROJECT_ROOT

TRAINING_DIRS = ("data/nlu", "data/stories", "data/rules", "data/roles")
MIN_LENGTH = 12


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()  # raises CaseError on any invalid case or duplicate id


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
