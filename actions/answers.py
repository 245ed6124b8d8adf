"""The factual answers: a topic for a role, comparing roles, listing roles, what is not known."""

from __future__ import annotations

import json
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.base import INTENT_TOPICS, StoreAction, role_buttons
from actions.feedback import FEEDBACK_BUTTONS
from bot.store import RoleInfo

Events = list[dict[str, Any]]


class ActionAnswerTopic(StoreAction):
    """Answer an ask_* question (or a role named alone, for the last topic) from the store."""

    def name(self) -> str:
        return "action_answer_topic"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topic = INTENT_TOPICS.get(str(intent)) or tracker.get_slot("topic") or "overview"
        named = self.roles_named(tracker)
        if len(named) > 1:
            for each in named:
                self._answer(dispatcher, topic, each)
            return [SlotSet("topic", topic)]
        role = named[0] if named else self.remembered_role(tracker)
        if role is not None:
            self._answer(dispatcher, topic, role)
            return [SlotSet("topic", topic), SlotSet("role", role.slug)]
        return [SlotSet("topic", topic), *self._answer_without_role(dispatcher, topic, intent)]

    def _answer(self, dispatcher: CollectingDispatcher, topic: str, role: RoleInfo) -> None:
        facts = self.store.facts(role.slug, topic)
        if facts:
            dispatcher.utter_message(
                text=replies.topic_answer(topic, [role], facts), buttons=FEEDBACK_BUTTONS
            )
            return
        others = [r for r in self.store.roles() if r != role and self.store.facts(r.slug, topic)]
        dispatcher.utter_message(
            text=replies.nothing_on_topic(topic, role, others, self.store.sources()),
            buttons=role_buttons(others, "inform_role"),
        )

    def _answer_without_role(
        self, dispatcher: CollectingDispatcher, topic: str, intent: Any
    ) -> Events:
        """Answer once when the page says the same for every role it covers; else ask which."""
        by_role = {r: self.store.facts(r.slug, topic) for r in self.store.roles()}
        covered = {r: f for r, f in by_role.items() if f}
        answers = {tuple(f) for f in covered.values()}
        if intent != "inform_role" and len(answers) == 1:
            (facts,) = answers
            dispatcher.utter_message(
                text=replies.topic_answer(topic, list(covered), facts), buttons=FEEDBACK_BUTTONS
            )
            return []
        about = "" if topic == "overview" else f" ({replies.TOPIC_NAMES[topic]})"
        dispatcher.utter_message(
            text=f"Which role would you like to know about{about}?",
            buttons=role_buttons(list(covered) or list(by_role), "inform_role"),
        )
        return []


class ActionCompareRoles(StoreAction):
    """What distinguishes two roles; asks which roles when fewer than two are known."""

    def name(self) -> str:
        return "action_compare_roles"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        named = self.roles_named(tracker)
        remembered = self.remembered_role(tracker) if len(named) < 2 else None
        if len(named) == 1 and remembered is not None and remembered != named[0]:
            named = [remembered, named[0]]
        elif not named and remembered is not None:
            named = [remembered]
        if len(named) >= 2:
            result = self.store.compare(named[0].slug, named[1].slug)
            dispatcher.utter_message(text=replies.comparison(result), buttons=FEEDBACK_BUTTONS)
            return [SlotSet("topic", None)]
        roles = self.store.roles()
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


def _pair_button(a: RoleInfo, b: RoleInfo, title: str) -> dict[str, str]:
    return {"title": title, "payload": "/compare_roles" + json.dumps({"role": [a.slug, b.slug]})}


class ActionListRoles(StoreAction):
    def name(self) -> str:
        return "action_list_roles"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
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


# What a question the page cannot answer is about, so the reply can name it.
_NOT_ON_PAGE_SUBJECTS = (
    (r"\bbands?\b|agenda for change", "pay bands"),
    (r"pay|salary|salaries|wage|earn|money|£|paid|income", "pay"),
    (r"hours|shifts?|nights?|weekends?|part[- ]time|full[- ]time|rota|holiday|leave", "hours"),
    (r"where|location|near|area|city|town|hospital|employer|trust|based", "locations"),
)


def not_on_page_subject(text: str) -> str:
    lowered = text.lower()
    for pattern, subject in _NOT_ON_PAGE_SUBJECTS:
        if re.search(pattern, lowered):
            return subject
    return "that"


class ActionNotOnPage(StoreAction):
    """Pay, bands, hours, locations: the page does not say, so neither does the assistant."""

    def name(self) -> str:
        return "action_not_on_page"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        subject = not_on_page_subject(tracker.latest_message.get("text") or "")
        what = "that information" if subject == "that" else f"information about {subject}"
        text = "\n".join(
            [
                f"I'm sorry, I don't have {what}: the NHS Careers page I use doesn't cover it, "
                "so I won't guess. Local NHS employers can tell you what opportunities are "
                "available; please contact them directly.",
                "",
                *replies.source_lines(self.store.sources()),
            ]
        )
        dispatcher.utter_message(text=text)
        return []


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
                {"title": "Entry requirements", "payload": "/ask_entry_requirements"},
                {"title": "How to apply", "payload": "/ask_how_to_apply"},
            ],
        )
        return []


class ActionDefaultFallback(StoreAction):
    """The last step of the two-stage fallback: a polite redirect to what it can help with."""

    def name(self) -> str:
        return "action_default_fallback"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        dispatcher.utter_message(
            text="Sorry, I still don't understand. " + replies.capabilities(self.store.roles()),
            buttons=[{"title": "Which roles are there?", "payload": "/list_roles"}],
        )
        return [UserUtteranceReverted()]
