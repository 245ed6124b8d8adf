"""What every store-backed action shares: the store, finding roles, and failing politely."""

from __future__ import annotations

import logging
import re
import weakref
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.focus import beyond_page
from bot.questions import QUESTION, REFERS_BACK
from bot.store import TOPIC_BY_KEY, FactInfo, RoleInfo, RoleStore, StoreUnavailable, get_store
from bot.store.retrieval import FactIndex, Hit

logger = logging.getLogger(__name__)

STORE_UNAVAILABLE = (
    "Sorry, I can't look that up right now. Please try again in a few minutes, or visit the "
    "NHS Careers website."
)

_FOLLOW_UP = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|so|right)\W+)?(?:and|n|wh?at about|how about|same for|is it the same for|"
    r"are they the same for|is that the same for|what of)\b",
    re.IGNORECASE,
)

SHORT_QUESTION_WORDS = 6
# A question whose words match no fact better than this is not about any of them.
UNMATCHED_SCORE = 0.1
# A topic the classifier is this sure of is what was asked.
SURE_INTENT = 0.9

# The entity the spaCy pipeline marks a qualification with (NVQ, GCSE, apprenticeship...).
TERM = "qualification"
TERM_LIFT = 0.01

# One ranker per store, built on first use and shared by every action.
_INDEXES: weakref.WeakKeyDictionary[Any, tuple[str, FactIndex]] = weakref.WeakKeyDictionary()


class StoreAction(Action, ABC):
    """An action that reads the role store.

    rasa-sdk instantiates every action with no arguments at import, so the store is only
    built on first use; tests pass one in.
    """

    def __init__(self, store: RoleStore | None = None) -> None:
        self._store = store

    @property
    def store(self) -> RoleStore:
        if self._store is None:
            self._store = get_store()
        return self._store

    @property
    def index(self) -> FactIndex:
        """The ranker over the store's facts, rebuilt when the store is loaded again."""
        version = self.store.version()
        cached = _INDEXES.get(self.store)
        if cached is None or cached[0] != version:
            cached = _INDEXES[self.store] = (version, FactIndex.from_store(self.store))
        return cached[1]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            return self.respond(dispatcher, tracker, domain)
        except StoreUnavailable:
            logger.exception("%s could not read the role store", self.name())
            dispatcher.utter_message(text=STORE_UNAVAILABLE)
            return []

    @abstractmethod
    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the reply and return the events; may raise StoreUnavailable."""

    def roles_named(self, tracker: Tracker) -> list[RoleInfo]:
        """Roles the latest message names: the entity ruler's finds, else a typo-tolerant scan."""
        found: list[RoleInfo] = []
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") != "role":
                continue
            values = entity.get("value")
            for value in values if isinstance(values, list) else [values]:
                found += [r for r in self.store.resolve_roles(str(value)) if r not in found]
        if found:
            return found
        return self.store.find_roles(tracker.latest_message.get("text") or "")

    def rank(self, tracker: Tracker, text: str) -> list[Hit]:
        """The facts and topics ranked against `text`, a fact naming a qualification the
        message names ("through an NVQ?") first: its words alone may match another fact
        better ("qualify as a radiographer" is the part-time study towards it)."""
        ranking = self.index.rank(text) if text else []
        terms = terms_named(tracker, text)
        named = [h for h in ranking if h.fact is not None and names_term(h.fact.text, terms)]
        if not named or named[0] is ranking[0]:
            return ranking
        top = ranking[0].score
        lifted = [Hit(h.topic, max(h.score, top) + TERM_LIFT, h.fact) for h in named]
        return sorted([*lifted, *(h for h in ranking if h not in named)], key=lambda h: -h.score)

    def is_follow_up(self, tracker: Tracker) -> bool:
        """ "What about APs?", "and ISWs?", "same for them?": a role and nothing else asked, after
        an answer. The classifier often reads these as a new question about the role."""
        text = self.question(tracker)
        return (
            bool(_FOLLOW_UP.match(text))
            and not self.index.content_words(text)
            and bool(tracker.get_slot("topic") or tracker.get_slot("facts"))
            and bool(self.roles_named(tracker))
        )

    def refers_back(self, tracker: Tracker, best_score: float) -> bool:
        """ "Who runs that?" after the accreditation answer: a short question about "that" or
        "it", naming no role, whose words match nothing on the page (best_score), is about what
        the conversation is on, whatever topic the classifier guesses."""
        text = self.question(tracker)
        return (
            bool(REFERS_BACK.search(text))
            and len(text.split()) <= SHORT_QUESTION_WORDS
            and best_score < UNMATCHED_SCORE
            and intent_confidence(tracker) < SURE_INTENT
            and bool(tracker.get_slot("topic"))
            and not self.roles_named(tracker)
        )

    @staticmethod
    def question(tracker: Tracker) -> str:
        """What the user asked: the questions of a long or many-part message (bot/parts.py
        marks them), else what they typed; "" for a button's payload ("/ask_training"), which
        asks for a whole topic."""
        text = str(tracker.latest_message.get("text") or "")
        if text.startswith("/"):
            return ""
        spans = [span for _, span in question_parts(tracker)]
        return " ".join(text[start:end] for start, end in spans) if spans else text

    def asks_beyond_page(self, text: str) -> bool:
        """Whether the question's focus is something the page never states (pay, hours, a
        place, a duration, an age...): then the reply must say so first. Unfamiliar words
        alone are not such a focus: people rarely use the page's words."""
        return beyond_page(text) is not None

    def page_order(self, fact: FactInfo) -> int:
        return self.index.position(fact)

    def remembered_role(self, tracker: Tracker) -> RoleInfo | None:
        """The role the conversation was about before this message (the `role` slot)."""
        remembered = tracker.get_slot("role")
        return self.store.resolve_role(str(remembered)) if remembered else None


def question_parts(tracker: Tracker) -> list[tuple[str, tuple[int, int]]]:
    """The questions bot/parts.py found in the latest message: (intent, (start, end)) each."""
    found = []
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == QUESTION:
            try:
                span = (int(entity["start"]), int(entity["end"]))
            except (KeyError, TypeError, ValueError):
                continue
            found.append((str(entity.get("value")), span))
    return found


def role_buttons(roles: list[RoleInfo], intent: str) -> list[dict[str, str]]:
    return [{"title": r.title, "payload": f'/{intent}{{"role": "{r.slug}"}}'} for r in roles]


def topic_button(key: str, title: str | None = None) -> dict[str, str]:
    """A button that asks for a whole topic, titled with its label unless told otherwise."""
    topic = TOPIC_BY_KEY[key]
    return {"title": topic.label if title is None else title, "payload": f"/{topic.intent}"}


def intent_confidence(tracker: Tracker) -> float:
    """How sure the classifier is of the latest message's intent (0 when it says nothing)."""
    return float((tracker.latest_message.get("intent") or {}).get("confidence") or 0)


def terms_named(tracker: Tracker, text: str) -> list[str]:
    """The qualifications (NVQ, GCSEs...) the latest message names within `text`, lower case."""
    return [
        str(e.get("value")).lower()
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == TERM and str(e.get("value")).lower() in text.lower()
    ]


def names_term(text: str, terms: list[str]) -> bool:
    """Whether `text` names one of `terms` (a plural or a capital aside)."""
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(term.rstrip('s'))}s?\b", lowered) for term in terms)
