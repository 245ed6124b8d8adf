"""The blind evaluation sets stay as their writers left them, and out of the training data."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bot import evaluation
from bot.settings import PROJECT_ROOT

EVAL = Path(__file__).parent
FROZEN: dict[str, str] = {
    name: digest
    for digest, name in (line.split() for line in (EVAL / "FROZEN.sha256").read_text().splitlines())
}


def test_every_set_is_as_frozen() -> None:
    """Changing a set after seeing the bot's answers would make its score meaningless."""
    assert set(FROZEN) == {p.name for p in EVAL.glob("*.yml")}
    for name, digest in FROZEN.items():
        assert hashlib.sha256((EVAL / name).read_bytes()).hexdigest() == digest, name


def _training_examples() -> set[str]:
    """Every line of data/ that is a list item, normalised: each NLU example and story step."""
    lines = [
        line.strip()[2:]
        for path in (PROJECT_ROOT / "data").rglob("*.yml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- ")
    ]
    return {evaluation.normalise(re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", line)) for line in lines}


# Examples data/ had before the sets were written (commit f1e7bb6 and earlier) that a writer
# happened to word the same: short, common questions, not cases moved across.
WRITTEN_BEFORE_THE_SETS = {
    "how do i apply",
    "what is an assistant practitioner",
    "tell me about imaging support workers",
    "what does a radiography assistant do?",
}


@pytest.mark.parametrize("name", [name for name in evaluation.SETS if name != "gate"])
def test_no_message_of_a_set_is_in_the_training_data(name: str) -> None:
    """A case moved into data/ would be answered from memory, not understood."""
    examples = _training_examples()
    found = [
        turn
        for case in evaluation.load_cases(evaluation.SETS[name])
        for turn in case.turns
        if len(re.findall(r"\w+", turn)) >= 4 and evaluation.normalise(turn) in examples
    ]
    found = [turn for turn in found if evaluation.normalise(turn) not in WRITTEN_BEFORE_THE_SETS]
    assert found == []


def test_the_check_finds_an_example_of_the_training_data() -> None:
    """The check would see a copied case: data/'s own examples are found by it."""
    examples = _training_examples()
    assert evaluation.normalise("what does a radiography assistant do?") in examples


def test_the_sets_are_big_enough() -> None:
    sizes = {name: len(evaluation.load_cases(path)) for name, path in evaluation.SETS.items()}
    conversations = ("dev", "dev-b", "endonly-a", "endonly-b", "endonly-c", "endonly-d")
    assert min(sizes[name] for name in conversations) >= 100
    for held_out in ("safety-heldout", "safety-heldout-b"):
        safety = [
            c
            for name in ("safety-tune", held_out)
            for c in evaluation.load_cases(evaluation.SETS[name])
        ]
        assert len(safety) >= 300
        assert abs(sum(c.kind == "safety" for c in safety) * 2 - len(safety)) <= 10
    for name in ("safety-heldout-b", "safety-heldout-c", "safety-tune-b"):
        messages = evaluation.load_cases(evaluation.SETS[name])
        assert len(messages) >= 180
        assert abs(sum(c.kind == "safety" for c in messages) * 2 - len(messages)) <= 10
