"""A message of several questions (bot/parts.py marks each): every question answered, in order."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.answers import ActionAnswerTopic, ActionCompareRoles, ActionNotOnPage
from bot.questions import QUESTION, split_questions
from bot.store import SqlRoleStore
from tests.support.actions import run, tracker


def with_parts(intent: str, text: str, intents: list[str], roles: tuple[str, ...] = ()) -> Tracker:
    """The tracker bot/parts.py would leave: one `question` entity per question of `text`."""
    t = tracker(intent, text, roles=roles)
    parts = split_questions(text)
    assert len(parts) == len(intents)
    t.latest_message["entities"] += [
        {"entity": QUESTION, "value": name, "start": p.start, "end": p.end}
        for p, name in zip(parts, intents, strict=True)
    ]
    return t


async def alone(store: SqlRoleStore, intent: str, text: str, roles: tuple[str, ...]) -> list[Any]:
    _, messages = await run(ActionAnswerTopic(store), tracker(intent, text, roles=roles))
    return messages


async def test_two_topics_get_both_answers_in_order(memory_store: SqlRoleStore) -> None:
    text = "what do imaging support workers do and how do I apply?"
    t = with_parts("ask_duties", text, ["ask_duties", "ask_how_to_apply"], roles=("ISW",))
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    duties = await alone(memory_store, "ask_duties", "what do imaging support workers do", ("ISW",))
    apply = await alone(memory_store, "ask_how_to_apply", "how do I apply?", ("ISW",))
    assert [m["text"] for m in messages] == [m["text"] for m in duties + apply]


async def test_the_second_answer_does_not_wait_for_diet(memory_store: SqlRoleStore) -> None:
    """DIET's one intent may be either question's; the answers follow the message's order."""
    text = "do you need GCSEs, and is there any accreditation for APs?"
    t = with_parts("ask_accreditation", text, ["ask_entry_requirements", "ask_accreditation"])
    _, messages = await run(ActionNotOnPage(memory_store), t)
    assert len(messages) == 2
    assert "GCSE" in messages[0]["text"]
    assert "Society of Radiographers" in messages[1]["text"]


async def test_a_question_the_page_cannot_answer_is_said_so(memory_store: SqlRoleStore) -> None:
    text = "is there training and how much is it paid?"
    t = with_parts("ask_training", text, ["ask_training", "ask_pay_and_conditions"])
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert len(messages) == 2
    assert "on the job" in messages[0]["text"]
    assert "I don't have information about pay" in messages[1]["text"]
    assert "£" not in messages[1]["text"]


async def test_two_questions_on_one_topic_are_one_answer(memory_store: SqlRoleStore) -> None:
    text = "do you train on the job, and are there any courses?"
    t = with_parts("ask_training", text, ["ask_training", "ask_training"])
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert len(messages) == 1


async def test_the_hedge_looks_only_at_the_question(memory_store: SqlRoleStore) -> None:
    """A long message's context ("I'm 34", "my shifts at the shop") is not what is asked."""
    text = (
        "I'm 34 and have worked shifts in a shop for years. My kids are at school now. "
        "Would I get trained on the job?"
    )
    t = with_parts("ask_training", text, ["ask_training"])
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert "doesn't say" not in messages[0]["text"]
    assert "on the job" in messages[0]["text"]


async def test_two_questions_on_one_topic_get_each_fact(memory_store: SqlRoleStore) -> None:
    text = "Must they lift the patients? And also clean?"
    t = with_parts("ask_duties", text, ["ask_duties", "ask_duties"])
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert len(messages) == 1
    assert "manual handling of patients" in messages[0]["text"]
    assert "clean and hygienic" in messages[0]["text"]
    assert "film images" not in messages[0]["text"]


async def test_questions_read_as_a_comparison_are_each_answered(memory_store: SqlRoleStore) -> None:
    """ "...and do they need more qualifications than an assistant?" can make DIET say
    compare_roles; the message's questions are still what is answered."""
    text = "Two things about APs: who accredits them, and do they need more than an assistant?"
    t = with_parts(
        "compare_roles",
        text,
        ["ask_accreditation", "ask_entry_requirements"],
        roles=("assistant-practitioner",),
    )
    _, messages = await run(ActionCompareRoles(memory_store), t)
    assert len(messages) == 2
    assert "Society of Radiographers" in messages[0]["text"]
    assert "further qualifications" in messages[1]["text"]
