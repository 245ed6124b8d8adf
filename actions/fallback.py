"""The two-stage fallback: "did you mean ...?" with the likeliest intents, then "rephrase".

Before asking, the first stage tries the facts: a question the classifier is unsure of but
whose words match one fact well ("hoists?") gets that fact, not a question back.
"""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.answers import (
    ActionAnswerTopic,
    ActionNotOnPage,
    answer_parts,
    as_intent,
    as_topic_question,
)
from actions.base import StoreAction, question_parts
from bot.settings import get_settings
from bot.store import TOPIC_BY_INTENT, TOPIC_TABLE
from bot.store.retrieval import pick_facts

# How each intent reads on a "did you mean" button.
INTENT_LABELS = {
    **{t.intent: t.suggestion for t in TOPIC_TABLE},
    "compare_roles": "Comparing roles",
    "list_roles": "Which roles there are",
    "ask_pay_and_conditions": "Pay, hours or locations",
    "inform_role": "A particular role",
    "greet": "Saying hello",
    "goodbye": "Saying goodbye",
    "thank": "Saying thanks",
    "bot_challenge": "Whether I'm a bot",
    "what_can_you_do": "What I can help with",
    "medical_emergency": "A medical worry",
    "feedback_helpful": "The answer was helpful",
    "feedback_not_helpful": "The answer was not helpful",
    "ask_human": "Talking to a person",
}
# Intents whose answer depends on a role: their buttons carry the roles the user named.
ROLE_INTENTS = {*TOPIC_BY_INTENT, "inform_role", "compare_roles"}
MAX_SUGGESTIONS = 3
# A medical worry this likely gets the safety advice even when the classifier is unsure.
SAFETY_THRESHOLD = 0.15
# A fact or topic matching an unsure question this well is the answer (higher than for a
# classified question: nothing else vouches for it).
FALLBACK_HIT_SCORE = 0.35
# An unsure question the classifier leans towards one of these, with words the page never
# uses, asks for something the page doesn't say: it gets the honest "not on the page" reply.
CAREERS_INTENTS = {*TOPIC_BY_INTENT, "ask_pay_and_conditions", "compare_roles", "inform_role"}
# Answered without asking back: the fallback loop that called this action ends here, and the
# assistant listens (without the follow-up, Rasa's rules find no next step and run
# action_default_fallback, whose revert would undo the answer's slots).
_END_LOOP = (ActiveLoop(None), FollowupAction("action_listen"))


def answer_unsure(
    action: StoreAction,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
) -> list[dict[str, Any]] | None:
    """Answer a message the classifier is unsure of, if its words allow; None if they don't.

    A role alone is a follow-up or a statement of interest; words matching a fact or topic
    well get that answer; words the page never uses get the honest reply when the message
    leans towards careers, the out-of-scope reply when it leans out of scope.
    """
    text = action.question(tracker)
    if not text:  # a button's payload ("Something else") asks for no answer
        return None
    answer_topic = ActionAnswerTopic(action.store)
    if action.is_follow_up(tracker) or (
        text and action.roles_named(tracker) and not action.index.content_words(text)
    ):
        return answer_topic.respond(dispatcher, as_intent(tracker, "inform_role"), domain)
    hits = action.rank(tracker, text)
    facts = pick_facts(hits, None, tracker.get_slot("topic"))
    if facts or (hits and hits[0].score >= FALLBACK_HIT_SCORE):
        topic = facts[0].topic if facts else hits[0].topic
        return answer_topic.respond(dispatcher, as_topic_question(tracker, topic), domain)
    # The questions bot/parts.py read in the message, each sure enough on its own, though the
    # message as a whole left the classifier unsure (a long message with personal context).
    asked = [intent for intent, _ in question_parts(tracker) if intent in TOPIC_BY_INTENT]
    if asked:
        several = answer_parts(action.store, dispatcher, tracker, domain)
        if several is not None:
            return several
        return answer_topic.respond(dispatcher, as_intent(tracker, asked[0]), domain)
    ranking = tracker.latest_message.get("intent_ranking") or []
    likeliest = next((i["name"] for i in ranking if i.get("name") != "nlu_fallback"), None)
    if (
        text
        and action.asks_beyond_page(text)
        and (likeliest in CAREERS_INTENTS or action.roles_named(tracker))
    ):
        return ActionNotOnPage(action.store).respond(dispatcher, tracker, domain)
    if likeliest == "out_of_scope":
        dispatcher.utter_message(response="utter_out_of_scope")
        return []
    return None


class ActionAskAffirmation(StoreAction):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        if any(
            i.get("name") == "medical_emergency" and i.get("confidence", 0) >= SAFETY_THRESHOLD
            for i in ranking
        ):
            # Safety first when in doubt; a careers answer may still follow.
            dispatcher.utter_message(response="utter_emergency")
        answered = answer_unsure(self, dispatcher, tracker, domain)
        if answered is not None:
            return [*answered, *_END_LOOP]
        return self._ask(dispatcher, tracker, ranking)

    @staticmethod
    def _ask(
        dispatcher: CollectingDispatcher, tracker: Tracker, ranking: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        suggestions = [i["name"] for i in ranking if i.get("name") in INTENT_LABELS]
        roles = [
            e["value"]
            for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == "role"
        ]
        entities = json.dumps({"role": roles}) if roles else ""
        buttons = [
            {
                "title": INTENT_LABELS[name],
                "payload": f"/{name}{entities if name in ROLE_INTENTS else ''}",
            }
            for name in suggestions[:MAX_SUGGESTIONS]
        ]
        buttons.append({"title": "Something else", "payload": "/out_of_scope"})
        dispatcher.utter_message(
            text="Sorry, I'm not sure I understood. Did you mean one of these?", buttons=buttons
        )
        return []


class ActionAskRephrase(Action):
    """The second stage: the user said none of the suggestions fitted."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            text="Sorry, I didn't quite understand. Could you say that another way? For "
            'example: "What does an assistant practitioner do?"'
        )
        return []


class ActionDefaultFallback(StoreAction):
    """The last step of the two-stage fallback: a polite redirect to what it can help with.

    Rasa gives up after two unsure messages in a row even when the first was answered from
    the facts, so the second gets the same chance of an answer before the redirect.
    """

    def name(self) -> str:
        return "action_default_fallback"

    def respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answered = answer_unsure(self, dispatcher, tracker, domain)
        if answered is not None:
            return answered
        settings = get_settings()
        dispatcher.utter_message(
            text="Sorry, I still don't understand. "
            + replies.capabilities(self.store.roles())
            + "\n\n"
            + replies.handoff(settings.handoff_url, settings.handoff_text),
            buttons=[{"title": "Which roles are there?", "payload": "/list_roles"}],
        )
        return [UserUtteranceReverted()]
