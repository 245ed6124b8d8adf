"""Unanswered messages grouped by similar wording: TF-IDF and agglomerative clustering.

Trainers should see "people ask about pay bands, 212 times", not 212 rows. Messages are
compared as TF-IDF vectors of their words (English stop words dropped, a plural "s" folded)
and merged by average-linkage agglomerative clustering on cosine distance, stopping at
DISTANCE (scikit-learn). Clustering costs time and memory with the square of the number of
distinct texts, so only the MAX_CLUSTERED most frequent are clustered; each of the rest
joins the group whose centre it is nearest to, or stands alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import yaml
from scipy import sparse
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics.pairwise import cosine_distances
from sklearn.preprocessing import normalize

from bot.settings import PROJECT_ROOT

# Average cosine distance under which two groups merge (0 same words, 1 no word shared).
DISTANCE = 0.75
MAX_CLUSTERED = 700
EXAMPLES = 5
REASONS = {
    "fallback": "the assistant did not understand (two-stage fallback)",
    "not_on_page": "the page doesn't cover it",
    "out_of_scope": "out of scope",
    "not_helpful": 'answer rated "Not helpful"',
}
_WORD = re.compile(r"\[[a-z ]+\]|[a-z0-9]+(?:'[a-z]+)?")
# Words that say nothing about the topic in this assistant's questions (the role's names are
# read from the role content: "what band is an AP" and "pay for radiography assistants" are
# one question about pay, not two about different roles).
_STOP = ENGLISH_STOP_WORDS | {"hi", "hello", "please", "thanks", "thank", "know", "tell", "want"}
ROLES_FILE = PROJECT_ROOT / "data" / "roles" / "roles.yml"


@lru_cache(maxsize=1)
def role_words(path: Path = ROLES_FILE) -> frozenset[str]:
    """Every word of every role's title and names (data/roles/roles.yml), plurals folded."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return frozenset()
    words: set[str] = set()
    for role in document.get("roles") or []:
        for name in [role.get("title"), role.get("plural"), *(role.get("names") or [])]:
            words.update(_fold(w) for w in _WORD.findall(str(name or "").casefold()))
    return frozenset(words)


@dataclass(frozen=True)
class Unanswered:
    """A user message the assistant could not answer (masked, as stored), and why."""

    id: int
    conversation_id: int
    text: str
    sent_at: datetime
    reasons: frozenset[str]
    label: str | None = None
    gap_id: int | None = None


@dataclass(frozen=True)
class Group:
    messages: tuple[Unanswered, ...]

    @cached_property
    def count(self) -> int:
        return len(self.messages)

    @cached_property
    def first(self) -> datetime:
        return min(m.sent_at for m in self.messages)

    @cached_property
    def last(self) -> datetime:
        return max(m.sent_at for m in self.messages)

    @cached_property
    def ids(self) -> list[int]:
        return sorted(m.id for m in self.messages)

    @cached_property
    def examples(self) -> list[str]:
        """Up to five distinct wordings, the most frequent (then the most recent) first."""
        by_wording: dict[str, list[Unanswered]] = {}
        for message in self.messages:
            by_wording.setdefault(normalise(message.text), []).append(message)
        ranked = sorted(
            by_wording.values(), key=lambda ms: (-len(ms), -max(m.sent_at for m in ms).timestamp())
        )
        return [max(ms, key=lambda m: m.sent_at).text for ms in ranked[:EXAMPLES]]

    @cached_property
    def reasons(self) -> list[tuple[str, int]]:
        """(reason, messages) pairs, the most common first."""
        counts = Counter(reason for m in self.messages for reason in m.reasons)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    @cached_property
    def labels(self) -> list[str]:
        return sorted({m.label for m in self.messages if m.label})

    @cached_property
    def gap_ids(self) -> list[int]:
        return sorted({m.gap_id for m in self.messages if m.gap_id is not None})

    @cached_property
    def handled(self) -> int:
        """How many of its messages a trainer has labelled or put in a content gap."""
        return sum(1 for m in self.messages if m.label or m.gap_id is not None)


def normalise(text: str) -> str:
    return " ".join(text.casefold().split()).strip(" ?!.,;:")


def _fold(word: str) -> str:
    """A crude plural fold: "bands" is "band", "class" stays."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _words(text: str) -> list[str]:
    """Lower-case words, stop words and role names dropped, plurals folded; masks kept."""
    ignore = role_words()
    folded = (_fold(w) for w in _WORD.findall(text.casefold()) if w not in _STOP)
    return [w for w in folded if w not in ignore]


def group(messages: Iterable[Unanswered]) -> list[Group]:
    """The messages in groups of similar wording, the largest (then the latest) first."""
    by_text: dict[str, list[Unanswered]] = {}
    for message in messages:
        by_text.setdefault(normalise(message.text), []).append(message)
    if not by_text:
        return []
    texts = sorted(
        by_text, key=lambda t: (-len(by_text[t]), -max(m.sent_at for m in by_text[t]).timestamp())
    )
    labels = _cluster(texts)
    grouped: dict[int, list[Unanswered]] = {}
    for text, label in zip(texts, labels, strict=True):
        grouped.setdefault(label, []).extend(by_text[text])
    groups = [Group(tuple(sorted(ms, key=lambda m: m.id))) for ms in grouped.values()]
    return sorted(groups, key=lambda g: (-g.count, -g.last.timestamp(), g.ids[0]))


def _cluster(texts: list[str]) -> list[int]:
    """A cluster number per text (texts are distinct, the most frequent first)."""
    if len(texts) == 1:
        return [0]
    vectorizer = TfidfVectorizer(analyzer=_words, sublinear_tf=True)
    try:
        vectors = vectorizer.fit_transform(texts)
    except ValueError:  # not one content word in any text: nothing to compare
        return list(range(len(texts)))
    head = vectors[:MAX_CLUSTERED]
    if head.shape[0] == 1:
        found = np.array([0])
    else:
        found = AgglomerativeClustering(
            n_clusters=None,
            affinity="precomputed",
            linkage="average",
            distance_threshold=DISTANCE,
        ).fit_predict(cosine_distances(head))
    labels = [int(x) for x in found]
    tail = vectors[MAX_CLUSTERED:]
    if tail.shape[0]:
        clusters = max(labels) + 1
        members = sparse.csr_matrix(
            (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(clusters, len(labels))
        )
        centres = normalize(members @ head)
        similarity = (tail @ centres.T).toarray()
        nearest = similarity.argmax(axis=1)
        for row, cluster in enumerate(nearest):
            if similarity[row, cluster] >= 1 - DISTANCE:
                labels.append(int(cluster))
            else:
                labels.append(clusters)
                clusters += 1
    # Texts with no content word ("hello?") are each their own group, not one big one.
    empty = np.asarray(vectors.sum(axis=1)).ravel() == 0
    next_label = max(labels) + 1
    for index in np.flatnonzero(empty):
        labels[index] = next_label
        next_label += 1
    return labels
