"""The factual answers: a topic or one fact, comparing roles, listing roles, what is not known."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.base import (
    SURE_INTENT,
    StoreAction,
    intent_confidence,
    names_term,
    question_parts,
    role_buttons,
    terms_named,
    topic_button,
)
from actions.feedback import FEEDBACK_BUTTONS
from actions.focus import beyond_page
from bot.questions import QUESTION
from bot.settings import get_settings
from bot.store import (
    TOPIC_BY_INTENT,
    TOPIC_BY_KEY,
    TOPICS,
    FactInfo,
    RoleInfo,
    RoleStore,
    Topic,
)
from bot.store.retrieval import FACT_MIN_SCORE, FactIndex, Hit, pick_facts

Events = list[dict[str, Any]]

# A question routed to "not on the page" that matches a fact this well is about that fact
# ("can I study part-time?" is progression, not working hours); a weaker match will do when
# the fact is on the topic the conversation was already on ("is that part-time?").
NOT_ON_PAGE_OVERRIDE = 0.8
# Above this, the fact is mentioned after saying the page doesn't cover the question.
RELATED_FACT_SCORE = 0.6
# A topic the classifier is sure of (SURE_INTENT) is answered whole when the best fact its
# words matched is on another topic and matched less well than this.
CLEAR_FACT_SCORE = 0.6
# A part of a message whose words match one fact this well is about that fact's topic.
PART_FACT_SCORE = 0.9
# Words that ask for a comparison: without one, a single role is no comparison.
COMPARING = re.compile(
    r"\b(compare\w*|comparison|differ\w*|same|similar\w*|versus|vs|than|between|better|worse|"
    r"harder|easier|both|against|with|like|or|and|other|others|too|also|either)\b",
    re.IGNORECASE,
)
# A question across the roles ("which of the three...", "out of the jobs...", "which role
# is easiest..."), not for their list ("which roles do you cover?").
ACROSS_ROLES = re.compile(
    r"\b(which|what) (one|ones|of (the|these|those|them|all))\b|"
    r"\bwhich (role|job) (is|would|needs?|has|can|should|do|does)\b|"
    r"\bout of (the|all|these|those)\b|\bacross\b|\bof the (three|3)\b|"
    r"\b(any|all|each) of (the|these|those|them)\b",
    re.IGNORECASE,
)
# The words that name the roles and the field: asking which roles there are "in radiography
# support" matches the fact naming them, which is no question about it.
ROLE_WORDS = re.compile(
    r"\b(radiograph\w*|imaging|x-?rays?|supp?ort|assistants?|practitioners?|workers?|roles?|"
    r"jobs?|careers?|positions?|nhs|other|different|kinds?|types?|there)\b",
    re.IGNORECASE,
)
# Radiographers, whose own job the page doesn't describe: a role compared with them ("is it
# basically being the radiographer's helper?") is told what the page says of the two.
RADIOGRAPHER = re.compile(r"\bradiographer", re.IGNORECASE)


class ActionAnswerTopic(StoreAction):
    """Answer an ask_* question, a role named alone, or a statement of interest, from the store.

    The answer comes first: one fact when the question is about one point, else the topic, for
    the role named, remembered, or else every role with each fact said once.
    """

    def name(self) -> str:
        return "action_answer_topic"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        several = answer_parts(self.store, dispatcher, tracker, domain)
        if several is not None:
            return several
        intent = str((tracker.latest_message.get("intent") or {}).get("name"))
        text = self.question(tracker)
        named = self.roles_named(tracker)
        if not named and text:
            other_job = self.store.not_role_named(text)
            if other_job is not None:
                dispatcher.utter_message(text=replies.not_a_role(other_job, self.store.roles()))
                return []
        context = tracker.get_slot("topic")
        ranking = self.rank(tracker, text)
        asked_topic = TOPIC_BY_INTENT.get(intent)
        best = max((h.score for h in ranking), default=0.0)
        back = self.is_follow_up(tracker) or self.refers_back(tracker, best)
        topic = None if asked_topic is None or back else asked_topic.key
        if topic is None:  # inform_role: the role for the last answer, or a statement of interest
            earlier = self._earlier_facts(tracker)
            if earlier and named:
                return self._answer_facts(dispatcher, earlier, named, unknown=False)
            asks = pick_facts(ranking, None)
            if context is None and len(named) == 1 and not asks:
                return self._acknowledge(dispatcher, named[0])
            topic = context or "overview"
        remembered = self.remembered_role(tracker)
        asked = named or ([remembered] if remembered is not None else [])
        facts = self._facts_asked(tracker, ranking, topic, context)
        clear = asked_topic if asked_topic is not None and asked_topic.key == topic else None
        if facts and self._topic_is_clear(tracker, clear, facts, ranking, named, remembered):
            facts = []
        unknown = bool(text) and self.asks_beyond_page(text)
        if facts:
            return self._answer_facts(dispatcher, facts, asked, unknown)
        events: Events = [SlotSet("topic", topic), SlotSet("facts", None)]
        if len(asked) == 1:
            events.append(SlotSet("role", asked[0].slug))
            self._answer_role(dispatcher, topic, asked[0], unknown)
        else:
            self._answer_roles(dispatcher, topic, asked or self.store.roles(), unknown)
        return events

    def _facts_asked(
        self, tracker: Tracker, ranking: list[Hit], topic: str, context: str | None
    ) -> list[FactInfo]:
        """The facts asked about; for several questions on one topic ("must they lift
        patients? and clean?"), each question's facts, or none when one asks the whole topic."""
        spans = [span for _, span in question_parts(tracker)]
        if len(spans) < 2:
            return pick_facts(ranking, topic, context)
        text = str(tracker.latest_message.get("text") or "")
        found: list[FactInfo] = []
        for start, end in spans:
            part = pick_facts(self.index.rank(text[start:end]), topic, context)
            if not part:
                return []
            found += [f for f in part if f not in found]
        return found

    @staticmethod
    def _topic_is_clear(
        tracker: Tracker,
        asked_topic: Topic | None,
        facts: list[FactInfo],
        ranking: list[Hit],
        named: list[RoleInfo],
        remembered: RoleInfo | None,
    ) -> bool:
        """Whether the question asks for its whole topic although a fact on another topic
        matched its words: the fact is not about the role the conversation is on and the
        message names none ("how do I become one?" after imaging support workers is how they
        apply, not the overview fact on how assistant practitioners come to the role), or the
        classifier is sure of the topic and the words match the fact only loosely ("who would
        recognise his qualifications?" is accreditation, not the entry fact about
        qualifications). A fact on the topic the conversation is on is a follow-up ("what's
        the aim of it?" after accreditation), and one naming the qualification asked about is
        what was asked, whatever the classifier says."""
        if asked_topic is None or any(f.topic == asked_topic.key for f in facts):
            return False
        terms = terms_named(tracker, StoreAction.question(tracker))
        if any(names_term(f.text, terms) for f in facts):
            return False
        if (
            not named
            and remembered is not None
            and not any(remembered.slug in f.roles for f in facts)
        ):
            return True
        score = max((h.score for h in ranking if h.fact in facts), default=0.0)
        on_context = any(f.topic == tracker.get_slot("topic") for f in facts)
        return (
            intent_confidence(tracker) >= SURE_INTENT
            and score < CLEAR_FACT_SCORE
            and not on_context
        )

    def _earlier_facts(self, tracker: Tracker) -> list[FactInfo]:
        """The facts the last answer was about ("and for APs?" after "do ISWs clean?")."""
        keys = tracker.get_slot("facts") or []
        return [f for f in self.store.all_facts() if f.key in keys]

    def _acknowledge(self, dispatcher: CollectingDispatcher, role: RoleInfo) -> Events:
        summary = self.store.facts(role.slug, "overview")[:1]
        topics = [t for t in TOPICS if self.store.facts(role.slug, t)]
        dispatcher.utter_message(
            text=replies.acknowledge_role(role, summary, topics),
            buttons=[
                topic_button(t)
                for t in topics
                if t in ("duties", "entry_requirements", "how_to_apply")
            ],
            sources=replies.source_data(replies.sources_of(summary)),
        )
        return [SlotSet("role", role.slug), SlotSet("topic", None), SlotSet("facts", None)]

    def _answer_facts(
        self,
        dispatcher: CollectingDispatcher,
        facts: list[FactInfo],
        asked: list[RoleInfo],
        unknown: bool,
    ) -> Events:
        """The one point asked about, for the roles asked about; a fact the page states only
        for other roles is said as theirs, followed by what it says for the roles asked."""
        everyone = self.store.roles()
        theirs = [f for f in facts if any(r.slug in f.roles for r in asked)]
        facts = theirs or facts
        lines = [replies.fact_answer(facts, asked or everyone, everyone)]
        missing = [r for r in asked if not any(r.slug in f.roles for f in facts)]
        extra: list[FactInfo] = []
        for role in missing:
            own = self.store.facts(role.slug, facts[0].topic)
            extra += [f for f in own if f not in facts and f not in extra]
            if own:
                heading = f"For {role.plural.lower()}, the page says:"
                lines += ["", heading, *replies.fact_lines(own)]
            else:
                lines += ["", replies.nothing_on_topic(facts[0].topic, role, [])]
        more = facts[0].topic
        dispatcher.utter_message(
            text=_with_caveat("\n".join(lines), unknown),
            buttons=[
                topic_button(more, f"More on {TOPIC_BY_KEY[more].name}"),
                *FEEDBACK_BUTTONS,
            ],
            sources=replies.source_data(replies.sources_of([*facts, *extra])),
        )
        events: Events = [SlotSet("topic", more), SlotSet("facts", [f.key for f in facts])]
        return events + ([SlotSet("role", asked[0].slug)] if len(asked) == 1 else [])

    def _answer_role(
        self, dispatcher: CollectingDispatcher, topic: str, role: RoleInfo, unknown: bool
    ) -> None:
        facts = self.store.facts(role.slug, topic)
        if facts:
            lead = self._what_it_is(role, topic)
            text = replies.topic_answer(topic, [role], facts, lead)
            facts = [*lead, *facts]
            dispatcher.utter_message(
                text=_with_caveat(text, unknown),
                buttons=FEEDBACK_BUTTONS,
                sources=replies.source_data(replies.sources_of(facts)),
            )
            return
        others = [r for r in self.store.roles() if r != role and self.store.facts(r.slug, topic)]
        dispatcher.utter_message(
            text=replies.nothing_on_topic(topic, role, others),
            buttons=role_buttons(others, "inform_role"),
            sources=replies.source_data(self.store.sources()),
        )

    def _what_it_is(self, role: RoleInfo, topic: str) -> list[FactInfo]:
        """Before a role's duties, what the page says that role is, where that sets it apart
        from the others (an assistant practitioner takes on tasks only radiographers did)."""
        if topic != "duties":
            return []
        everyone = {r.slug for r in self.store.roles()}
        return [f for f in self.store.facts(role.slug, "overview") if set(f.roles) != everyone]

    def _answer_roles(
        self,
        dispatcher: CollectingDispatcher,
        topic: str,
        roles: Sequence[RoleInfo],
        unknown: bool,
    ) -> None:
        """Several roles, or none named: every fact once, grouped by the roles it holds for."""
        facts: list[FactInfo] = []
        for role in roles:
            facts += [f for f in self.store.facts(role.slug, topic) if f not in facts]
        facts.sort(key=self.page_order)
        text = replies.grouped_topic_answer(topic, facts, roles, self.store.roles())
        dispatcher.utter_message(
            text=_with_caveat(text, unknown),
            buttons=FEEDBACK_BUTTONS,
            sources=replies.source_data(replies.sources_of(facts)),
        )


def _with_caveat(text: str, unknown: bool) -> str:
    """The page's answer, preceded by what it doesn't say when the question asked beyond it."""
    return f"{replies.UNKNOWN_DETAIL}\n\nWhat the page does say:\n{text}" if unknown else text


class ActionCompareRoles(StoreAction):
    """What the page says differently about two roles; asks which roles when fewer are known."""

    def name(self) -> str:
        return "action_compare_roles"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        several = answer_parts(self.store, dispatcher, tracker, domain)
        if several is not None:  # "three things about APs: is it new, who accredits them..."
            return several
        named = self.roles_named(tracker)
        question = self.question(tracker)
        if len(named) == 1 and not COMPARING.search(question):
            # One role and no word of comparing: the classifier misread a question about the
            # role ("is stock control any part of an RA's job?"); its words say which topic.
            topics = [h.topic for h in self.rank(tracker, question) if h.score >= FACT_MIN_SCORE]
            if topics:
                asked = as_topic_question(tracker, topics[0])
                return ActionAnswerTopic(self.store).respond(dispatcher, asked, domain)
        remembered = self.remembered_role(tracker) if len(named) < 2 else None
        if len(named) == 1 and remembered is not None and remembered != named[0]:
            named = [remembered, named[0]]
        elif not named and remembered is not None:
            named = [remembered]
        if len(named) >= 2:
            result = self.store.compare(named[0].slug, named[1].slug)
            facts = [*result.only_first, *result.only_second, *result.shared]
            dispatcher.utter_message(
                text=replies.comparison(result),
                buttons=FEEDBACK_BUTTONS,
                sources=replies.source_data(replies.sources_of(facts)),
            )
            return [SlotSet("topic", None)]
        roles = self.store.roles()
        if len(named) == 1 and RADIOGRAPHER.search(self.question(tracker)):
            return self._with_radiographers(dispatcher, named[0])
        if named:
            first = named[0]
            others = [r for r in roles if r != first]
            dispatcher.utter_message(
                text=f"Which role would you like to compare {first.plural.lower()} with?",
                buttons=[_pair_button(first, other, f"{other.title}") for other in others],
            )
            return []
        pairs = [(a, b) for i, a in enumerate(roles) for b in roles[i + 1 :]]
        dispatcher.utter_message(
            text="Which roles would you like to compare?",
            buttons=[_pair_button(a, b, f"{a.title} and {b.title.lower()}") for a, b in pairs],
        )
        return []

    def _with_radiographers(self, dispatcher: CollectingDispatcher, role: RoleInfo) -> Events:
        """A role against radiographers, whose own job the page doesn't describe: what it says
        of the role in relation to them (APs take on tasks only registered radiographers did;
        radiography assistants and imaging support workers assist radiographers)."""
        facts = [
            f for f in self.store.facts(role.slug, "overview") if "radiographer" in f.text.lower()
        ]
        if not facts:
            facts = self.store.facts(role.slug, "overview")
        dispatcher.utter_message(
            text=replies.against_radiographers(role, facts),
            buttons=FEEDBACK_BUTTONS,
            sources=replies.source_data(replies.sources_of(facts)),
        )
        return [SlotSet("role", role.slug), SlotSet("topic", "overview"), SlotSet("facts", None)]


def _pair_button(a: RoleInfo, b: RoleInfo, title: str) -> dict[str, str]:
    return {"title": title, "payload": "/compare_roles" + json.dumps({"role": [a.slug, b.slug]})}


class ActionListRoles(StoreAction):
    def name(self) -> str:
        return "action_list_roles"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        """The roles there are; or, for a question across them that one fact of the page
        answers ("which of the three can I do with no qualifications?"), that topic's answer
        for every role: the classifier reads "which of the jobs" as asking for the list."""
        question = self.question(tracker)
        text = ROLE_WORDS.sub(" ", question)
        across = bool(ACROSS_ROLES.search(question)) and bool(text.strip())
        asks = pick_facts(self.rank(tracker, text), None) if across else []
        if asks:
            question = as_topic_question(tracker, asks[0].topic)
            return ActionAnswerTopic(self.store).respond(dispatcher, question, domain)
        roles = self.store.roles()
        text = "\n".join(
            [
                "I can tell you about these radiography support roles in the NHS:",
                *(f"- {r.plural}" for r in roles),
                "",
                "Which would you like to know about?",
            ]
        )
        dispatcher.utter_message(text=text, buttons=role_buttons(roles, "ask_overview"))
        return []


def not_on_page_subject(text: str) -> str:
    """What a question the page cannot answer is about, so the reply can name it."""
    return beyond_page(text) or "that"


class ActionNotOnPage(StoreAction):
    """What the page doesn't state (pay, hours, durations, rules it never mentions, vacancies):
    say so and point to local NHS employers, never a number. A question that is really about a
    fact on the page ("can I study part-time?") gets that fact instead."""

    def name(self) -> str:
        return "action_not_on_page"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        several = answer_parts(self.store, dispatcher, tracker, domain)
        if several is not None:
            return several
        text = self.question(tracker)
        ranking = self.rank(tracker, text)
        facts = [h for h in ranking if h.fact is not None]
        on_topic = bool(facts) and facts[0].topic == tracker.get_slot("topic")
        override = RELATED_FACT_SCORE if on_topic else NOT_ON_PAGE_OVERRIDE
        if facts and facts[0].score >= override and not self.asks_beyond_page(text):
            return ActionAnswerTopic(self.store).respond(
                dispatcher, as_topic_question(tracker, facts[0].topic), domain
            )
        subject = not_on_page_subject(text)
        what = "that information" if subject == "that" else f"information about {subject}"
        lines = [
            f"I'm sorry, I don't have {what}: the NHS Careers page I use doesn't cover it, "
            "so I won't guess. Local NHS employers can tell you what opportunities are "
            "available; please contact them directly."
        ]
        related = facts[0].fact if facts and facts[0].score >= RELATED_FACT_SCORE else None
        if related is not None:
            lines += ["", "What the page does say:", related.text]
        dispatcher.utter_message(
            text="\n".join(lines),
            sources=replies.source_data(
                [related.source] if related is not None else self.store.sources()
            ),
        )
        return []


NOT_ON_PAGE_INTENT = "ask_pay_and_conditions"


def answer_parts(
    store: RoleStore,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
) -> Events | None:
    """Each question of a message that asks about different things, answered in turn (a topic
    from the store, or what the page doesn't say); None when it asks about one thing."""
    index = ActionAnswerTopic(store).index
    text = str(tracker.latest_message.get("text") or "")
    parts = [
        (part_intent(index, intent, text[span[0] : span[1]]), span)
        for intent, span in question_parts(tracker)
        if intent in TOPIC_BY_INTENT or intent == NOT_ON_PAGE_INTENT
    ]
    if len({intent for intent, _ in parts}) < 2:
        return None
    events: Events = []
    answered: set[str] = set()
    for intent, span in parts:
        if intent in answered:
            continue
        answered.add(intent)
        part = as_part(tracker, intent, span)
        action = ActionNotOnPage if intent == NOT_ON_PAGE_INTENT else ActionAnswerTopic
        events += action(store).respond(dispatcher, part, domain)
    return events


def part_intent(index: FactIndex, intent: str, text: str) -> str:
    """The intent of one question of a message, or the topic of the one fact its words name
    outright when that is on another topic: a part is classified alone and short, so "is
    there an NVQ for ISWs?" beside a question on accreditation can read as accreditation."""
    if intent not in TOPIC_BY_INTENT:
        return intent
    facts = [h for h in index.rank(text) if h.fact is not None]
    if (
        facts
        and facts[0].score >= PART_FACT_SCORE
        and facts[0].topic != TOPIC_BY_INTENT[intent].key
    ):
        return TOPIC_BY_KEY[facts[0].topic].intent
    return intent


def as_part(tracker: Tracker, intent: str, span: tuple[int, int]) -> Tracker:
    """The same tracker, its latest message read as one of its questions: that question's text
    and intent, and the roles named in it (else every role the message names)."""
    start, end = span
    part = as_intent(tracker, intent)
    message = part.latest_message
    entities = [e for e in message.get("entities") or [] if e.get("entity") != QUESTION]
    inside = [e for e in entities if start <= int(e.get("start", -1)) < end]
    message["text"] = str(message.get("text") or "")[start:end]
    message["entities"] = inside if any(e.get("entity") == "role" for e in inside) else entities
    return part


def as_topic_question(tracker: Tracker, topic: str) -> Tracker:
    """The same tracker, its latest message read as a question about `topic`."""
    return as_intent(tracker, TOPIC_BY_KEY[topic].intent)


def as_intent(tracker: Tracker, intent: str) -> Tracker:
    """The same tracker, its latest message read as `intent`."""
    question = copy.copy(tracker)
    question.latest_message = {
        **tracker.latest_message,
        "intent": {"name": intent, "confidence": 1.0},
    }
    return question


class ActionWhatCanYouDo(StoreAction):
    def name(self) -> str:
        return "action_what_can_you_do"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(
            text=replies.capabilities(self.store.roles()),
            buttons=[
                {"title": "Which roles are there?", "payload": "/list_roles"},
                topic_button("entry_requirements"),
                topic_button("how_to_apply"),
            ],
        )
        return []


class ActionHandoff(StoreAction):
    """ "Can I talk to someone?": the operator's contact (HANDOFF_URL), never an invented one."""

    def name(self) -> str:
        return "action_handoff"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        settings = get_settings()
        dispatcher.utter_message(text=replies.handoff(settings.handoff_url, settings.handoff_text))
        return []
