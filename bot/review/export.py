"""Relabelled messages as Rasa NLU YAML, ready to merge into data/nlu/.

An example already trained on (any file in data/nlu/) is left out, and so is one of the
held-out test examples (tests/nlu/test_nlu.yml): training on those would make the NLU gate
measure nothing. Both comparisons ignore case and spacing, and the output says what was left
out and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from bot.db import now as clock
from bot.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
TEST_NLU = PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml"
# [text](entity), [text]{"entity": ...}, [text][{...}]: the example's text is the bracketed part.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


@dataclass(frozen=True)
class Labelled:
    """A message a trainer labelled with an intent (bot.review.labels_page.labelled)."""

    text: str
    label: str
    sender_id: str


def normalise(text: str) -> str:
    return " ".join(_ANNOTATION.sub(r"\1", text).split()).casefold()


def examples_in(paths: Iterable[Path]) -> set[str]:
    """Every intent example in these Rasa NLU YAML files, normalised."""
    found: set[str] = set()
    for path in paths:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            examples = item.get("examples") if isinstance(item, dict) else None
            if not isinstance(examples, str):
                continue
            for line in examples.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.add(normalise(line[2:]))
    return found


@dataclass
class Export:
    by_intent: dict[str, list[str]] = field(default_factory=dict)
    in_training: list[Labelled] = field(default_factory=list)
    in_test_set: list[Labelled] = field(default_factory=list)
    repeated: int = 0

    @property
    def count(self) -> int:
        return sum(len(texts) for texts in self.by_intent.values())

    def summary(self) -> str:
        return (
            f"{self.count} example(s) for {len(self.by_intent)} intent(s); left out: "
            f"{len(self.in_training)} already in data/nlu/, {len(self.in_test_set)} held-out "
            f"test example(s) in tests/nlu/test_nlu.yml (never trained on), "
            f"{self.repeated} repeated"
        )

    def yaml(self, now: datetime | None = None) -> str:
        moment = (now or clock()).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"# Relabelled in the review console; exported {moment}.",
            f"# {self.summary()}.",
        ]
        for skipped in self.in_test_set:
            lines.append(f"# left out, a held-out test example: {_comment(skipped.text)}")
        lines += ['version: "3.1"', "nlu:"]
        if not self.by_intent:
            lines[-1] = "nlu: []"
        for intent in sorted(self.by_intent):
            lines += [f"- intent: {intent}", "  examples: |"]
            lines += [f"    - {text}" for text in self.by_intent[intent]]
        return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    return " ".join(text.split())[:200]


def build_export(
    labelled: Iterable[Labelled],
    nlu_dir: Path = NLU_DIR,
    test_file: Path = TEST_NLU,
) -> Export:
    training = examples_in(sorted(nlu_dir.glob("*.yml")))
    held_out = examples_in([test_file]) if test_file.exists() else set()
    export = Export()
    seen: set[str] = set()
    for item in labelled:
        text = " ".join(item.text.split())
        key = normalise(text)
        if not key or text.startswith("/"):
            continue
        if key in held_out:
            export.in_test_set.append(item)
        elif key in training:
            export.in_training.append(item)
        elif key in seen:
            export.repeated += 1
        else:
            seen.add(key)
            export.by_intent.setdefault(item.label, []).append(text)
    return export
