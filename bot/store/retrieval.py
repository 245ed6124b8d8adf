"""Finding the fact a question is about: a TF-IDF ranker over the store's facts and topics.

Each fact is represented by its text and its `asked_as` wordings (how job seekers ask about
it), each topic by how people ask about the topic as a whole. A question is compared with every
wording, on word and on character n-grams (so "requirments" still finds "requirements") and,
when the index is given an encoder (the assistant gives none), on meaning too; a fact or topic
scores its best wording. The caller decides what to do with the ranking: answer one fact when
a fact's wording wins clearly over the whole topic's, otherwise the whole topic.

Role wordings are removed from the question and the wordings first: "do APs need GCSEs" must
match the GCSE fact on "GCSEs", not the accreditation facts on "APs". Why TF-IDF and not a Rasa
ResponseSelector: docs/architecture.md, "Why facts are found by a TF-IDF ranker".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.store.api import FactInfo, RoleStore
from bot.store.content import closest

# Words that say nothing about which fact is meant. Our own list: sklearn's has "part", "full",
# "show" and "move", which matter here ("part-time", "moving patients").
_STOP_WORDS = frozenset(
    re.findall(
        r"\S+",
        """
    a an the and or but if of to in on at for with by from as is are was were be been
    being am i me my we our you your they them their he she it its this that these those
    there here what which who whom whose how why when where can could would should will
    shall may might must does did doing have has had having please hi hello hiya hey just
    really so very also too about any some much many more most thanks thank ok okay um uh
    like know tell want wondering wonder question ask mean im ive id dont its whats thats
    theres role roles nhs do need get go got same else too either mate pls plz u
    ur info detail details exactly actually basically generally thing things stuff lot bit
    assistant assistants worker workers practitioner practitioners would expected able
    wat wot wud cud shud r thx abt n gonna wanna kinda sorta lol radiography radiology
    """,
    )
)
_WORD = re.compile(r"[a-z0-9]+")
# Typos are forgiven in words this long or longer ("requirments"), not in short ones ("earn").
_FUZZY_MIN_LENGTH = 5
_FUZZY_CUTOFF = 0.8
# How much a wording loses for question words it lacks (0: nothing, 1: all).
_UNCOVERED_PENALTY = 0.5
# Only the wordings most similar to a question are scored in full.
_CANDIDATES = 40
# A fact is answered on its own when its best wording scores at least this, and clearly more
# than the whole topic's wordings: "is there heavy lifting?" is one duty, "what do they do?" all.
FACT_MIN_SCORE = 0.3
CONTEXT_FACT_MIN_SCORE = 0.2
FACT_MARGIN = 0.1
# Facts scoring this close to the best are answered with it ("do they fix machines?": faults
# and maintenance).
FACT_RELATIVE = 0.85
MAX_FACTS = 3
# How close an item of a list must come to its introduction, when that matched best.
INTRO_RELATIVE = 0.7
_SUFFIXES = ("ing", "ies", "ed", "s")
# Meaning, with an encoder: a wording whose sentence vector has cosine similarity MEANING_FULL
# with the question's counts as a perfect match (1.0), one at MEANING_FLOOR or below as none,
# linearly between; a wording scores the better of that and its TF-IDF score. The assistant
# passes no encoder: it finds more held-out facts but answers fewer conversations
# (bench/README.md#retrievalpy), so meaning is measured by `bench/retrieval.py` only.
MEANING_FLOOR = 0.5
MEANING_FULL = 1.0

# Unit-length sentence vectors, one row per text: bot.embeddings' encoder, passed in by the
# caller, since this layer is below the encoder's.
Encode = Callable[[Sequence[str]], np.ndarray]


def _stem(word: str) -> str:
    """A crude stemmer: enough for "cleaning" ~ "clean" and "apprenticeships" ~ "apprenticeship"."""
    if word.endswith(("ss", "us", "is")):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            # "getting" -> "get", "stopped" -> "stop"
            if suffix in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2]:
                stem = stem[:-1]
            return stem
    return word


@dataclass(frozen=True)
class Hit:
    """A fact (key set) or a whole topic (key empty) and how well the question matched it."""

    topic: str
    score: float
    fact: FactInfo | None = None

    @property
    def key(self) -> str:
        return self.fact.key if self.fact is not None else f"topic:{self.topic}"


class FactIndex:
    """Ranks the store's facts and topics against a question; built once, read many times."""

    def __init__(
        self,
        facts: Sequence[FactInfo],
        topic_phrases: dict[str, list[str]],
        role_wordings: Iterable[str],
        encode: Encode | None = None,
    ) -> None:
        wordings = sorted({w.lower() for w in role_wordings if w.strip()}, key=len, reverse=True)
        self._roles = (
            re.compile(r"\b(?:" + "|".join(re.escape(w) for w in wordings) + r")\b")
            if wordings
            else None
        )
        self._positions = {fact.key: i for i, fact in enumerate(facts)}
        self._owners: list[Hit] = []
        documents: list[str] = []
        for fact in facts:
            for wording in (fact.text, *fact.asked_as):
                documents.append(wording)
                self._owners.append(Hit(fact.topic, 0.0, fact))
        for topic, phrases in topic_phrases.items():
            for wording in phrases:
                documents.append(wording)
                self._owners.append(Hit(topic, 0.0, None))
        prepared = [self._prepare(d) for d in documents]
        self._doc_words = [frozenset(d.split()) for d in prepared]
        self._words = TfidfVectorizer(
            analyzer="word",
            tokenizer=str.split,
            token_pattern=None,
            ngram_range=(1, 2),
            sublinear_tf=True,
            lowercase=False,
        )
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self._word_matrix = self._words.fit_transform(prepared)
        self._char_matrix = self._chars.fit_transform(prepared)
        self._vocabulary = {w for d in prepared for w in d.split()}
        self._long_words = frozenset(w for w in self._vocabulary if len(w) >= _FUZZY_MIN_LENGTH)
        self._encode = encode
        self._vectors = encode([self._neutral(d) for d in documents]) if encode else None

    @classmethod
    def from_store(cls, store: RoleStore, encode: Encode | None = None) -> FactIndex:
        names = [n for ns in store.role_names().values() for n in ns]
        names += list(store.group_names())
        return cls(store.all_facts(), store.topic_phrases(), names, encode)

    def _neutral(self, text: str) -> str:
        """The text to encode: role names removed, so its vector says what is asked, not of
        which role ("do radiography assistants keep the stock levels up?" is about stock)."""
        text = text.lower().replace("\u2019", "'")
        if self._roles is not None:
            text = self._roles.sub(" ", text)
        return " ".join(text.split())

    def _prepare(self, text: str) -> str:
        text = text.lower().replace("\u2019", "'").replace("'s", "s")
        text = re.sub(r"\bx[- ]?rays?\b", "xray", text).replace("-", " ")
        if self._roles is not None:
            text = self._roles.sub(" ", text)
        words = [w for w in _WORD.findall(text.replace("'", "")) if w not in _STOP_WORDS]
        return " ".join(s for s in map(_stem, words) if s not in _STOP_WORDS)

    def content_words(self, text: str) -> list[str]:
        """What is left of a question once role names and filler words are gone."""
        return self._prepare(text).split()

    def position(self, fact: FactInfo) -> int:
        """Where a fact stands on its page, for putting a mix of facts back in page order."""
        return self._positions.get(fact.key, len(self._positions))

    def unknown_words(self, text: str) -> list[str]:
        """Words of a question that no fact, topic or wording uses, typos forgiven: a sign it
        asks for something the page doesn't say ("is there an age limit?")."""
        unknown = []
        for word in self.content_words(text):
            if word in self._vocabulary or word.isdigit():
                continue
            if len(word) >= 3 and any(v.startswith(word) for v in self._long_words):
                continue  # a short form: "reqs", "quals"
            if len(word) >= _FUZZY_MIN_LENGTH and closest(word, self._long_words, _FUZZY_CUTOFF):
                continue
            unknown.append(word)
        return unknown

    def rank(self, text: str) -> list[Hit]:
        """Facts and topics, best first, each scored by its best-matching wording (0 to 1).

        A wording's score is its TF-IDF similarity (words and character n-grams, for typos),
        scaled down by up to half for the share of the question's words it doesn't cover, so a
        short wording sharing one word ("who do they work with") does not win a longer
        question ("do they work nights?"); with an encoder, the better of that and how close
        the wording's meaning is (MEANING_FLOOR, MEANING_FULL). A question of filler words only
        ("what do they do?") ranks nothing. Weights chosen by `bench/retrieval.py`.
        """
        prepared = self._prepare(text)
        if not prepared:
            return []
        words = (self._word_matrix @ self._words.transform([prepared]).T).toarray().ravel()
        chars = (self._char_matrix @ self._chars.transform([prepared]).T).toarray().ravel()
        similarity = 0.5 * words + 0.5 * chars
        asked = prepared.split()
        order = np.argsort(-similarity)
        scores = np.zeros(len(self._owners))
        for index in order[:_CANDIDATES]:
            coverage = _coverage(asked, self._doc_words[index])
            scores[index] = similarity[index] * (1 - _UNCOVERED_PENALTY * (1 - coverage))
        scored = order[:_CANDIDATES]
        if self._encode is not None and self._vectors is not None:
            cosine = self._vectors @ self._encode([self._neutral(text)])[0]
            meaning = np.clip((cosine - MEANING_FLOOR) / (MEANING_FULL - MEANING_FLOOR), 0, 1)
            scores = np.maximum(scores, meaning)
            scored = order[np.isin(order, scored) | (meaning[order] > 0)]
        best: dict[str, Hit] = {}
        for index in scored:
            owner = self._owners[index]
            score = float(scores[index])
            if owner.key not in best or best[owner.key].score < score:
                best[owner.key] = Hit(owner.topic, score, owner.fact)
        return sorted(best.values(), key=lambda h: -h.score)


def _coverage(asked: list[str], document: frozenset[str]) -> float:
    """The share of the question's words that the wording has, typos forgiven."""
    covered = 0
    for word in asked:
        if (
            word in document
            or (len(word) >= 3 and any(w.startswith(word) for w in document))
            or (len(word) >= _FUZZY_MIN_LENGTH and closest(word, document, _FUZZY_CUTOFF))
        ):
            covered += 1
    return covered / len(asked)


def pick_facts(
    ranking: Sequence[Hit], topic: str | None, context: str | None = None
) -> list[FactInfo]:
    """The facts a question is specifically about, or [] when it is about a whole topic.

    `context` is the topic the conversation was on: a short follow-up ("what's the aim of
    it?") may pick one of its facts on a weaker match.
    """
    facts = [h for h in ranking if h.fact is not None]
    if not facts:
        return []
    best = facts[0]
    floor = CONTEXT_FACT_MIN_SCORE if best.topic == context else FACT_MIN_SCORE
    if best.score < floor:
        return []
    topics = [h for h in ranking if h.fact is None and (topic is None or h.topic == topic)]
    if topics and topics[0].score + FACT_MARGIN > best.score:
        return []
    if best.fact is not None and best.fact.text.endswith(":"):
        # An introduction ("They generally all assist patients ... Other duties might involve:")
        # says little alone: the items of its list the words also match come with it.
        close = [
            h
            for h in facts
            if h is best or (h.topic == best.topic and h.score >= best.score * INTRO_RELATIVE)
        ]
    else:
        close = [h for h in facts if h.score >= best.score * FACT_RELATIVE]
    return [h.fact for h in close[:MAX_FACTS] if h.fact is not None]
