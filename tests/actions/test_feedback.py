from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.feedback import THANKS, ActionRecordFeedback
from tests.support.actions import run, tracker


@pytest.mark.parametrize(
    ("intent", "rating"),
    [("feedback_helpful", "helpful"), ("feedback_not_helpful", "not_helpful")],
)
async def test_feedback_is_stored_in_the_conversation(intent: str, rating: str) -> None:
    events, messages = await run(ActionRecordFeedback(), tracker(intent, f"/{intent}"))
    assert events == [SlotSet("feedback", rating)]
    assert [m["text"] for m in messages] == [THANKS[rating]]
