"""The questions inside a message: what to answer when a message asks two things, or asks one
after a paragraph about the person asking.

"wat do imaging support workers do n how do i apply" is two questions; "I'm 17 and doing health
and social care at college... wat would i actually be doing day to day" is one, after context
the page has nothing to say about. Both the NLU pipeline (bot/parts.py, which classifies each
question) and the actions (which answer each, and look for what the page lacks only in the
questions) split messages here, so they agree on the parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The entity each question of a message is marked with (its value: the question's intent).
QUESTION = "question"
# At most this many questions are answered from one message.
MAX_PARTS = 3
# A message this long, or of this many sentences, is read for its questions alone.
LONG_WORDS = 30
LONG_SENTENCES = 3
# A part shorter than this is no question of its own ("Hi", "For radiography assistant").
MIN_PART_WORDS = 3

_ASKING = (
    r"what|wat|wot|whats|what's|how|hows|can|could|cud|would|wud|will|is|are|r|do|does|did|"
    r"should|shud|who|where|which|why|when|any|must|has|have|am|was|were"
)
_LEADING = re.compile(
    r"^(?:(?:and|n|&|also|plus|but|so|ok|okay|oh|well|hi|hello|hiya|hey|then)\b[\s,]*)+", re.I
)
_SENTENCE = re.compile(r"(?<=[.?!])\s+|\n+")
# Where a second question starts inside a sentence: "..., and is there", "... n how do i",
# "Three things about APs: is it new, who accredits them, and ...".
_JOIN = re.compile(
    rf"(?:\s*[,:;]\s*(?:and|n|&|also|plus)?\s*|\s+(?:and|n|&|plus)\s+(?:also\s+)?)"
    rf"(?=(?:{_ASKING})\b)",
    re.I,
)
_ASKS = re.compile(rf"^(?:{_ASKING})\b", re.I)
_WORD = re.compile(r"[\w']+")
# Words that point back at what was said before ("they also do this?", "who runs that?").
REFERS_BACK = re.compile(r"\b(this|that|these|those|it|them)\b", re.I)


@dataclass(frozen=True)
class Part:
    """One question of a message: its text and where it is in the message."""

    text: str
    start: int
    end: int


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """The pieces of text[start:end] between the pattern's matches."""
    spans, at = [], start
    for match in pattern.finditer(text, start, end):
        spans.append((at, match.start()))
        at = match.end()
    return [*spans, (at, end)]


def _part(text: str, start: int, end: int) -> Part | None:
    piece = text[start:end]
    lead = _LEADING.match(piece.strip())
    offset = len(piece) - len(piece.lstrip()) + (lead.end() if lead else 0)
    core = text[start + offset : end].rstrip(" ,;")
    if not core:
        return None
    return Part(core, start + offset, start + offset + len(core))


def is_long(text: str) -> bool:
    sentences = [s for s in _SENTENCE.split(text.strip()) if _words(s)]
    return _words(text) > LONG_WORDS or len(sentences) >= LONG_SENTENCES


def asks(part: Part) -> bool:
    """Whether the part reads as a question: a question mark, or a question's first word."""
    return part.text.endswith("?") or bool(_ASKS.match(part.text))


def split_questions(text: str) -> list[Part]:
    """The questions of the message in order, at most MAX_PARTS. A short message that asks one
    thing is one part (itself); a long one keeps only its sentences that ask something (its last
    sentence when none does)."""
    sentences = [
        part
        for start, end in _spans(text, _SENTENCE, 0, len(text))
        if (part := _part(text, start, end)) is not None and _words(part.text)
    ]
    if not sentences:
        return []
    if is_long(text):
        kept = [i for i, s in enumerate(sentences) if asks(s)] or [len(sentences) - 1]
        # "they also do this?": the sentence before says what "this" is.
        sentences = [
            Part(
                text[sentences[i - 1].start : sentences[i].end],
                sentences[i - 1].start,
                sentences[i].end,
            )
            if i and REFERS_BACK.search(sentences[i].text) and _words(sentences[i].text) < 12
            else sentences[i]
            for i in kept
        ]
    parts: list[Part] = []
    for sentence in sentences:
        pieces = [
            piece
            for start, end in _spans(text, _JOIN, sentence.start, sentence.end)
            if (piece := _part(text, start, end)) is not None
        ]
        questions = [p for p in pieces if _words(p.text) >= MIN_PART_WORDS and asks(p)]
        if len(questions) >= 2 and questions[0] is pieces[0]:
            parts += questions
        elif len(questions) >= 2:
            # Words before the first question belong to it: "For APs, what do they need?"
            first = Part(text[sentence.start : questions[0].end], sentence.start, questions[0].end)
            parts += [first, *questions[1:]]
        else:
            parts.append(sentence)
    return parts[:MAX_PARTS]
