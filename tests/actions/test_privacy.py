"""A person's "delete my conversation": asked first, then done (by the log) or not."""

from __future__ import annotations

import yaml

from actions.privacy import (
    ASK,
    CONFIRM_BUTTONS,
    DELETED,
    KEPT,
    ActionAskDeleteConversation,
    ActionDeleteConversation,
    ActionKeepConversation,
)
from bot.settings import PROJECT_ROOT
from bot.tracking import ERASE_ACTION
from tests.support.actions import run, tracker


async def test_the_question_offers_yes_and_no() -> None:
    events, messages = await run(ActionAskDeleteConversation(), tracker("delete_conversation"))
    assert events == []
    assert messages == [{**messages[0], "text": ASK, "buttons": CONFIRM_BUTTONS}]


async def test_deleting_only_says_so_the_log_erases() -> None:
    action = ActionDeleteConversation()
    assert action.name() == ERASE_ACTION  # what the tracker store looks for
    events, messages = await run(action, tracker("affirm"))
    assert events == []
    assert [m["text"] for m in messages] == [DELETED]


async def test_keeping_says_nothing_was_deleted() -> None:
    events, messages = await run(ActionKeepConversation(), tracker("deny"))
    assert (events, [m["text"] for m in messages]) == ([], [KEPT])


def test_the_buttons_answer_the_question_and_only_the_question_deletes() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules" / "privacy.yml").read_text())
    assert [button["payload"] for button in CONFIRM_BUTTONS] == ["/affirm", "/deny"]
    deleting = [
        rule["steps"] for rule in rules["rules"] if {"action": ERASE_ACTION} in rule["steps"]
    ]
    assert deleting == [
        [
            {"action": "action_ask_delete_conversation"},
            {"intent": "affirm"},
            {"action": ERASE_ACTION},
        ]
    ]
    steps = [step for rule in rules["rules"] for step in rule["steps"]]
    actions = {step["action"] for step in steps if "action" in step}
    intents = {step["intent"] for step in steps if "intent" in step}
    assert actions <= set(domain["actions"]) and intents <= set(domain["intents"])
