"""A person's own "delete my conversation" (the right to erasure), on any channel.

The assistant asks first; once confirmed, `action_delete_conversation` says it is done, and the
conversation log erases the whole conversation when it saves that turn (bot/tracking/store.py),
so the erasure needs nothing from this server and nothing of the conversation stays, the
confirmation included. Rules: data/rules/privacy.yml.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.tracking import ERASE_ACTION

ASK = (
    "Do you want me to delete this conversation? Everything you have written here will be "
    "erased from the careers team's records, and it can't be undone."
)
# A yes or a no to this question only: data/rules/privacy.yml.
CONFIRM_BUTTONS = [
    {"title": "Yes, delete it", "payload": "/affirm"},
    {"title": "No, keep it", "payload": "/deny"},
]
DELETED = (
    "I've deleted this conversation: nothing of it is kept. If you write again, it starts afresh."
)
KEPT = "OK, I haven't deleted anything. What would you like to know?"


class ActionAskDeleteConversation(Action):
    def name(self) -> str:
        return "action_ask_delete_conversation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=ASK, buttons=CONFIRM_BUTTONS)
        return []


class ActionDeleteConversation(Action):
    """Only says so: the tracker store does the erasing, when it sees this action ran."""

    def name(self) -> str:
        return ERASE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=DELETED)
        return []


class ActionKeepConversation(Action):
    def name(self) -> str:
        return "action_keep_conversation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=KEPT)
        return []
