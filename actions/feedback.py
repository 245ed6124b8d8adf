"""Whether an answer helped: stored in the conversation (the `feedback` slot) for trainers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

# Offered under every factual answer; channels without buttons number them ("reply 1 or 2").
FEEDBACK_BUTTONS = [
    {"title": "Helpful", "payload": "/feedback_helpful"},
    {"title": "Not helpful", "payload": "/feedback_not_helpful"},
]
THANKS = {
    "helpful": "Thanks for your feedback. Is there anything else you'd like to know?",
    "not_helpful": (
        "Thanks for telling me. The team reviews conversations like this one to improve my "
        "answers. You could try asking in another way, or contact local NHS employers."
    ),
}


class ActionRecordFeedback(Action):
    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        rating = "helpful" if intent == "feedback_helpful" else "not_helpful"
        dispatcher.utter_message(text=THANKS[rating])
        return [SlotSet("feedback", rating)]
