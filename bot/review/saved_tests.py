"""Test conversations saved from the log: a transcript (or its first turns) kept as a regression
case, in the log's database, and exported in the conversation set's YAML (tests/conversations).

What the final reply must contain is pre-filled from the store's facts the reply states (the
shortest run of the fact's words no other fact has), and what it must not contain from the
facts of the same topic for the other roles (an AP's entry requirements are not "no formal
entry requirements"). The trainer edits both before saving. Only masked text is kept: the
turns as the log stores them, and the phrases masked again (bot.tracking.masking).

Cases are checked with bot.evaluation's own parser when saved, so an export always loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import Column, DateTime, Integer, String, Text, delete, select
from sqlalchemy.orm import Session, declarative_base

from bot import evaluation
from bot.db import now as clock
from bot.db import utcnow
from bot.evaluation import KINDS, MAX_TURNS, Case, CaseError, normalise
from bot.store import FactInfo, RoleStore
from bot.tracking.masking import mask

if TYPE_CHECKING:  # the schema (bot.migrations) imports this module: no console at run time
    from bot.review.transcript_page import Transcript

# SQLAlchemy 1.4 has no typed declarative base; mypy sees Any rather than a bogus class.
Base: Any = declarative_base()

# Where an error in a saved case says it is (evaluation's messages name a file).
SOURCE = Path("saved test conversations")
MAX_PHRASES = 3
PHRASE_MAX = 200
# Words a distinctive phrase must not start or end with.
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by can do for from has have in is it of on or so that the their "
        "them there they this to was what when where which who will with you your usually "
        "generally may might being some also often more all its these other such must well but",
    )
)


class SavedTest(Base):
    """A conversation kept as a regression case (bot.evaluation.Case's fields, as JSON)."""

    __tablename__ = "review_saved_tests"

    id = Column(Integer, primary_key=True)
    # The case's id in the export: saved-<id>-<words of the first turn>.
    case_id = Column(String(80), nullable=False, unique=True)
    # log_conversations.id it was saved from (no foreign key: another metadata); the case
    # keeps its own copy of the (masked) turns.
    conversation_id = Column(Integer, index=True)
    kind = Column(String(30), nullable=False)
    turns = Column(Text, nullable=False)
    # {"all": [...], "none": [...]}: what the final reply must and must not contain.
    expect = Column(Text, nullable=False)
    created_by = Column(String(100), nullable=False)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)


@dataclass(frozen=True)
class Exchange:
    """A message typed by the user and the bot's texts in answer to it."""

    text: str
    reply: str


@dataclass(frozen=True)
class Draft:
    """A test conversation before the trainer saves it: the pre-filled form."""

    conversation_id: int
    exchanges: tuple[Exchange, ...]
    turns: int
    kind: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    facts: tuple[str, ...] = ()

    @property
    def reply(self) -> str:
        return self.exchanges[self.turns - 1].reply if self.exchanges else ""


@dataclass(frozen=True)
class Saved:
    id: int
    case_id: str
    conversation_id: int | None
    kind: str
    turns: tuple[str, ...]
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime
    any: tuple[str, ...] = field(default=())

    def case(self) -> Case:
        return evaluation.parse_case(raw_case(self.case_id, self), SOURCE, 0)


def exchanges(transcript: Transcript) -> list[Exchange]:
    """The typed messages of a transcript, each with the bot's texts until the next message
    (button presses end an answer but are not turns: a test types what people typed)."""
    found: list[tuple[str, list[str]]] = []
    answering: list[str] | None = None
    for turn in transcript.turns:
        if turn.kind == "user":
            typed = turn.message is not None and not turn.message.payload
            if typed:
                found.append((turn.text, []))
            answering = found[-1][1] if typed and found else None
        elif turn.kind == "bot" and answering is not None and turn.text:
            answering.append(turn.text)
    return [Exchange(text, "\n\n".join(replies)) for text, replies in found]


def _role_words(store: RoleStore) -> set[str]:
    words: set[str] = set()
    for names in store.role_names().values():
        for name in names:
            words |= set(re.findall(r"[a-z']+", name.lower()))
    return words


def _phrases(text: str) -> Iterable[tuple[int, int, str]]:
    """Every run of whole words of `text` (normalised): its first word's place, its length in
    words, and the run without the punctuation at its ends."""
    tokens = normalise(text).split(" ")
    for start in range(len(tokens)):
        for size in range(1, min(4, len(tokens) - start) + 1):
            phrase = " ".join(tokens[start : start + size]).strip(" ,.;:\"'-")
            if phrase and "," not in phrase and phrase.count("(") == phrase.count(")"):
                yield start, size, phrase


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", normalise(text))


def distinctive_phrase(
    fact: FactInfo, others: Sequence[FactInfo], avoid: set[str], terms: Sequence[str] = ()
) -> str:
    """A few of the fact's words that no other fact's text has, neither starting nor ending
    with a filler word or a role's name: the run with the most words only this fact uses
    ("stock levels", "further qualifications"), then the one that says most (letters of its
    words that are not fillers), then the earliest; at most four words. One word
    will do if it is a term of the store (NVQ, apprenticeship), an abbreviation or a long word
    ("biopsies"). The whole text if no run is distinctive."""
    other_texts = [normalise(o.text) for o in others if o.text != fact.text]
    elsewhere = {w for text in other_texts for w in _words(text)}
    known = {normalise(t) for t in terms}
    shouting = {w.lower() for w in re.findall(r"\b[A-Z]{2,}s?\b", fact.text)}
    best: tuple[int, int, int] | None = None
    chosen = normalise(fact.text)
    for start, size, phrase in _phrases(fact.text):
        words = _words(phrase)
        if not words or {words[0], words[-1]} & (_STOP | avoid):
            continue
        if size == 1 and not (phrase in known or phrase in shouting or len(phrase) >= 8):
            continue
        if any(phrase in other for other in other_texts):
            continue
        own = len({w for w in words if w not in elsewhere and w not in _STOP})
        said = sum(len(w) for w in words if w not in _STOP)
        rank = (-min(own, 2), -said, start)
        if best is None or rank < best:
            best, chosen = rank, phrase
    return chosen


def facts_in(reply: str, facts: Sequence[FactInfo]) -> list[FactInfo]:
    """The store's facts whose text the reply states (in the reply's order)."""
    text = normalise(reply)
    found = [(text.find(normalise(f.text)), f) for f in facts if normalise(f.text) in text]
    unique: dict[str, FactInfo] = {}
    for _, fact in sorted(found, key=lambda pair: pair[0]):
        unique.setdefault(fact.text, fact)
    return list(unique.values())


def suggest(
    transcript: Transcript, store: RoleStore, turns: int | None = None, kind: str | None = None
) -> Draft:
    """The form for saving `transcript`'s first `turns` typed messages (at most MAX_TURNS),
    pre-filled from the facts the last reply states."""
    found = exchanges(transcript)
    if not found:
        raise ValueError("this conversation has no typed message to replay")
    count = min(len(found), MAX_TURNS) if turns is None else turns
    if not 1 <= count <= min(len(found), MAX_TURNS):
        raise ValueError(
            f"a test conversation has 1 to {min(len(found), MAX_TURNS)} turns here "
            f"(the conversation has {len(found)} typed messages; a case at most {MAX_TURNS})"
        )
    reply = found[count - 1].reply
    everything = store.all_facts()
    stated = facts_in(reply, everything)
    avoid = _role_words(store)
    terms = [t for names in store.terms().values() for t in names]

    def phrase_of(fact: FactInfo) -> str:
        return distinctive_phrase(fact, everything, avoid, terms)

    must = [phrase_of(f) for f in stated[:MAX_PHRASES]]
    roles = {role for fact in stated for role in fact.roles}
    topics = {fact.topic for fact in stated}
    reply_text = normalise(reply)
    must_not: list[str] = []
    for fact in everything:
        if fact.topic not in topics or set(fact.roles) & roles or fact in stated:
            continue
        phrase = phrase_of(fact)
        if phrase not in reply_text and phrase not in must_not and len(must_not) < MAX_PHRASES:
            must_not.append(phrase)
    default_kind = "multi-turn" if count > 1 else "fact" if stated else "direct"
    return Draft(
        conversation_id=transcript.conversation.id,
        exchanges=tuple(found),
        turns=count,
        kind=kind if kind in KINDS else default_kind,
        must=tuple(must),
        must_not=tuple(must_not),
        facts=tuple(f.key or f.text[:60] for f in stated),
    )


def phrases(lines: str | Iterable[str]) -> list[str]:
    """Phrases from a form's text area (one a line) or a list: masked, trimmed, no repeats."""
    items = lines.splitlines() if isinstance(lines, str) else list(lines)
    found: list[str] = []
    for item in items:
        phrase = mask(" ".join(item.split()))[:PHRASE_MAX]
        if phrase and phrase not in found:
            found.append(phrase)
    return found


def raw_case(case_id: str, saved: Saved) -> dict[str, Any]:
    """The case as tests/conversations/*.yml writes it."""
    expect: dict[str, list[str]] = {}
    if saved.must:
        expect["all"] = list(saved.must)
    if saved.any:
        expect["any"] = list(saved.any)
    if saved.must_not:
        expect["none"] = list(saved.must_not)
    return {"id": case_id, "kind": saved.kind, "turns": list(saved.turns), "expect": expect}


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for word in words:
        if len(slug) + len(word) + 1 > 40:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or "conversation"


def _saved(row: SavedTest) -> Saved:
    expect = json.loads(row.expect)
    return Saved(
        id=row.id,
        case_id=row.case_id,
        conversation_id=row.conversation_id,
        kind=row.kind,
        turns=tuple(json.loads(row.turns)),
        must=tuple(expect.get("all", ())),
        must_not=tuple(expect.get("none", ())),
        any=tuple(expect.get("any", ())),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _checked(saved: Saved) -> None:
    """Refuse what bot.evaluation could not run (ValueError with its reason)."""
    if saved.kind not in KINDS:
        raise ValueError(f"the kind must be one of {', '.join(KINDS)}")
    if not saved.must and not saved.any:
        raise ValueError("say at least one phrase the final reply must contain")
    try:
        saved.case()
    except CaseError as error:
        raise ValueError(str(error).replace(f"{SOURCE}: ", "")) from None


def save(
    session: Session,
    *,
    conversation_id: int | None,
    turns: Sequence[str],
    kind: str,
    must: Sequence[str],
    must_not: Sequence[str],
    by: str,
) -> Saved:
    """Keep a test conversation; ValueError (with the reason) if it could not be run."""
    moment = utcnow()
    draft = Saved(
        0,
        "saved-0-draft",
        conversation_id,
        kind,
        tuple(mask(t) for t in turns),
        tuple(phrases(must)),
        tuple(phrases(must_not)),
        by,
        moment,
        moment,
    )
    _checked(draft)
    row = SavedTest(
        case_id=f"draft-{moment.timestamp()}",
        conversation_id=conversation_id,
        kind=draft.kind,
        turns=json.dumps(list(draft.turns)),
        expect=json.dumps(raw_case("x", draft)["expect"]),
        created_by=by,
        created_at=moment,
        updated_at=moment,
    )
    session.add(row)
    session.flush()
    row.case_id = f"saved-{row.id}-{_slug(draft.turns[0])}"
    session.flush()
    return _saved(row)


def update(
    session: Session, test_id: int, *, kind: str, must: Sequence[str], must_not: Sequence[str]
) -> Saved:
    """Change what a saved test expects (its turns stay as they were logged)."""
    row = session.get(SavedTest, test_id)
    if row is None:
        raise LookupError(test_id)
    current = _saved(row)
    changed = Saved(
        current.id,
        current.case_id,
        current.conversation_id,
        kind,
        current.turns,
        tuple(phrases(must)),
        tuple(phrases(must_not)),
        current.created_by,
        current.created_at,
        utcnow(),
    )
    _checked(changed)
    row.kind = changed.kind
    row.expect = json.dumps(raw_case(row.case_id, changed)["expect"])
    row.updated_at = changed.updated_at
    return _saved(row)


def remove(session: Session, test_id: int) -> None:
    if session.execute(delete(SavedTest).where(SavedTest.id == test_id)).rowcount == 0:
        raise LookupError(test_id)


def saved_tests(session: Session) -> list[Saved]:
    return [_saved(r) for r in session.execute(select(SavedTest).order_by(SavedTest.id)).scalars()]


def cases(session: Session) -> list[Case]:
    """The saved tests as bot.evaluation runs them."""
    return [saved.case() for saved in saved_tests(session)]


def export_yaml(saved: Sequence[Saved], now: datetime | None = None) -> str:
    """The saved tests in tests/conversations' format (python -m bot eval --cases loads it)."""
    moment = (now or clock()).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"# Test conversations saved in the review console; exported {moment}.\n"
        f"# {len(saved)} case(s); turns as the conversation log keeps them (masked).\n"
    )
    if not saved:
        return header + "cases: []\n"
    body = yaml.safe_dump(
        {"cases": [raw_case(s.case_id, s) for s in saved]},
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return header + body
