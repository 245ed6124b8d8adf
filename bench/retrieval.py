"""Benchmark: how well each way of ranking facts finds the fact a question is about.

Runs the held-out one-point questions in tests/store/fact_questions.yml (and a few questions
the page can't answer, which must pick no fact) through variants of bot.store.retrieval, and
prints, per variant, facts found first, whole-topic questions left to the topic, false picks,
and the time to build the index and to rank one question. The variant the assistant uses is
marked with *. The variants with meaning load the sentence encoder (bot/embeddings.py, no
network) and encode each wording once: seconds on any machine.

    .venv/bin/python bench/retrieval.py
"""

from __future__ import annotations

import functools
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.embeddings import get_encoder
from bot.settings import PROJECT_ROOT
from bot.store import SqlRoleStore, read_content
from bot.store import retrieval as r

# Questions the page can't answer: picking a fact for one of these is a wrong answer.
BEYOND_PAGE = (
    "do they work nights",
    "how much do they earn",
    "is there an age limit",
    "do i need a dbs check",
    "what's the weather like",
    "do they wear a uniform",
    "is there a pension",
    "are there jobs in leeds",
)


@contextmanager
def variant(word: float, penalty: float) -> Iterator[None]:
    """Rank with `word` weight on word n-grams (1 - word on characters) and `penalty`."""
    saved = r.FactIndex.rank, r._UNCOVERED_PENALTY

    def rank(self: r.FactIndex, text: str) -> list[r.Hit]:
        prepared = self._prepare(text)
        if not prepared:
            return []
        words = (self._word_matrix @ self._words.transform([prepared]).T).toarray().ravel()
        chars = (self._char_matrix @ self._chars.transform([prepared]).T).toarray().ravel()
        similarity = word * words + (1 - word) * chars
        best: dict[str, r.Hit] = {}
        for index in np.argsort(-similarity)[: r._CANDIDATES]:
            owner = self._owners[index]
            coverage = r._coverage(prepared.split(), self._doc_words[index])
            score = float(similarity[index]) * (1 - penalty * (1 - coverage))
            if owner.key not in best or best[owner.key].score < score:
                best[owner.key] = r.Hit(owner.topic, score, owner.fact)
        return sorted(best.values(), key=lambda h: -h.score)

    r.FactIndex.rank = rank  # type: ignore[method-assign]
    try:
        yield
    finally:
        r.FactIndex.rank, r._UNCOVERED_PENALTY = saved  # type: ignore[method-assign]


@functools.lru_cache(maxsize=1024)
def _vector(text: str) -> np.ndarray:
    return get_encoder().encode(text)


def sentence_vectors(texts: Sequence[str]) -> np.ndarray:
    """The encoder the meaning variants rank with: each text encoded once."""
    return np.stack([_vector(t) for t in texts])


@contextmanager
def meaning(floor: float, full: float) -> Iterator[None]:
    """Rank as the assistant does, with meaning counted from cosine `floor` to `full`."""
    saved = r.MEANING_FLOOR, r.MEANING_FULL
    r.MEANING_FLOOR, r.MEANING_FULL = floor, full
    try:
        yield
    finally:
        r.MEANING_FLOOR, r.MEANING_FULL = saved


def measure(
    store: SqlRoleStore, questions: list[dict[str, Any]], encode: r.Encode | None = None
) -> dict[str, float]:
    started = time.perf_counter()
    index = r.FactIndex.from_store(store, encode)
    build = time.perf_counter() - started
    facts = [q for q in questions if "fact" in q]
    topics = [q for q in questions if "topic" in q]
    found = sum(
        1
        for q in facts
        if (picked := r.pick_facts(index.rank(q["text"]), None)) and picked[0].key == q["fact"]
    )
    left = sum(1 for q in topics if not r.pick_facts(index.rank(q["text"]), q["topic"]))
    false = sum(1 for text in BEYOND_PAGE if r.pick_facts(index.rank(text), None))
    timings = []
    for q in questions:
        started = time.perf_counter()
        index.rank(q["text"])
        timings.append(time.perf_counter() - started)
    return {
        "found": found,
        "facts": len(facts),
        "left": left,
        "topics": len(topics),
        "false": false,
        "beyond": len(BEYOND_PAGE),
        "build_ms": build * 1000,
        "rank_ms": statistics.median(timings) * 1000,
    }


def main() -> None:
    store = SqlRoleStore.in_memory()
    store.load(read_content(PROJECT_ROOT / "data" / "roles"))
    questions = yaml.safe_load(
        (PROJECT_ROOT / "tests" / "store" / "fact_questions.yml").read_text()
    )["questions"]
    variants = [
        ("words only, no coverage", 1.0, 0.0),
        ("characters only, no coverage", 0.0, 0.0),
        ("words + characters, no coverage", 0.5, 0.0),
        ("words + characters, full coverage penalty", 0.5, 1.0),
        ("words + characters, half coverage penalty", 0.5, r._UNCOVERED_PENALTY),
    ]
    print(
        f"{'variant':44} {'facts found':>12} {'topics kept':>12} {'false picks':>12} "
        f"{'build ms':>9} {'rank ms':>8}"
    )
    r.FactIndex.from_store(store, sentence_vectors)  # each wording encoded once, before timing
    meanings = [
        ("... + meaning, cosine 0.3 to 0.9", 0.3, 0.9),
        ("... + meaning, cosine 0.4 to 1.0", 0.4, 1.0),
        ("... + meaning, cosine 0.5 to 1.0", 0.5, 1.0),
        ("... + meaning, cosine 0.6 to 1.0", 0.6, 1.0),
    ]
    rows = []
    for name, word, penalty in variants:
        with variant(word, penalty):
            used = (word, penalty) == (0.5, r._UNCOVERED_PENALTY)
            rows.append((name, measure(store, questions), used))
    for name, floor, full in meanings:  # not used by the assistant: bench/README.md says why
        with meaning(floor, full):
            rows.append((name, measure(store, questions, sentence_vectors), False))
    for name, m, used in rows:
        mark = "*" if used else " "
        print(
            f"{mark}{name:43} {m['found']:>5.0f}/{m['facts']:<6.0f} {m['left']:>5.0f}/"
            f"{m['topics']:<6.0f} {m['false']:>5.0f}/{m['beyond']:<6.0f} "
            f"{m['build_ms']:>9.1f} {m['rank_ms']:>8.2f}"
        )


if __name__ == "__main__":
    main()
