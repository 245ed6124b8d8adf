"""Build rasa-sdk trackers and run actions the way the action server does."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


def tracker(
    intent: str,
    text: str = "",
    roles: tuple[str, ...] = (),
    slots: dict[str, Any] | None = None,
    ranking: list[dict[str, Any]] | None = None,
) -> Tracker:
    entities = [{"entity": "role", "value": r, "extractor": "SpacyEntityExtractor"} for r in roles]
    return Tracker(
        sender_id="test",
        slots={"role": None, "topic": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
            "entities": entities,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(action: Action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action; return (events, messages sent)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return events, dispatcher.messages
