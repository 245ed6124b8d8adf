from __future__ import annotations

from typing import Any

from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from actions.fallback import ActionAskAffirmation, ActionAskRephrase
from bot.store import SqlRoleStore
from tests.support.actions import run, tracker

Ranked = tuple[str, float]


async def unsure(
    store: SqlRoleStore,
    text: str,
    *ranked: Ranked,
    roles: tuple[str, ...] = (),
    slots: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ActionAskAffirmation after the classifier fell back (nlu_fallback at 0.5), with the
    intents it ranked next as (name, confidence)."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}]
    ranking += [{"name": name, "confidence": confidence} for name, confidence in ranked]
    t = tracker("nlu_fallback", text, roles=roles, slots=slots, ranking=ranking)
    return await run(ActionAskAffirmation(store), t)


async def test_did_you_mean_offers_the_likeliest_intents_with_the_role(
    memory_store: SqlRoleStore,
) -> None:
    events, messages = await unsure(
        memory_store,
        "",
        ("ask_duties", 0.3),
        ("greet", 0.1),
        ("ask_overview", 0.05),
        ("ask_training", 0.04),
        roles=("ap",),
    )
    assert events == []
    assert messages == [
        {
            "text": "Sorry, I'm not sure I understood. Did you mean one of these?",
            "buttons": [
                {"title": "What they do", "payload": '/ask_duties{"role": ["ap"]}'},
                {"title": "Saying hello", "payload": "/greet"},
                {"title": "What the role is", "payload": '/ask_overview{"role": ["ap"]}'},
                {"title": "Something else", "payload": "/out_of_scope"},
            ],
            "elements": [],
            "template": None,
            "response": None,
            "image": None,
            "custom": {},
            "attachment": None,
        }
    ]


async def test_a_possible_medical_worry_gets_the_safety_advice_first(
    memory_store: SqlRoleStore,
) -> None:
    _, messages = await unsure(memory_store, "feel odd", ("greet", 0.3), ("medical_emergency", 0.2))
    assert messages[0]["response"] == "utter_emergency"
    assert [b["payload"] for b in messages[1]["buttons"]] == [
        "/greet",
        "/medical_emergency",
        "/out_of_scope",
    ]


async def test_a_possible_medical_worry_then_the_careers_answer(
    memory_store: SqlRoleStore,
) -> None:
    """Unsure between a worry and a careers question: the safety advice, then the answer."""
    events, messages = await unsure(
        memory_store, "is heavy lifting involved", ("medical_emergency", 0.45)
    )
    assert messages[0]["response"] == "utter_emergency"
    assert messages[1]["text"].endswith("Being involved in the manual handling of patients.")
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]


async def test_a_role_alone_after_an_answer_is_a_follow_up(memory_store: SqlRoleStore) -> None:
    events, messages = await unsure(
        memory_store,
        "are they the same for ISWs?",
        ("inform_role", 0.4),
        roles=("ISWs",),
        slots={"topic": "training"},
    )
    assert messages[0]["text"].startswith("Training for imaging support workers:")
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]


async def test_rephrase() -> None:
    _, messages = await run(ActionAskRephrase(), tracker("out_of_scope", "something else"))
    assert messages[0]["text"].startswith("Sorry, I didn't quite understand.")


async def test_an_unsure_question_that_matches_a_fact_gets_it(memory_store: SqlRoleStore) -> None:
    """The classifier is unsure, but the words match one duty: answer it and end the loop."""
    events, messages = await unsure(memory_store, "hoisting patients?", ("greet", 0.3))
    assert events == [
        SlotSet("topic", "duties"),
        SlotSet("facts", ["duty-manual-handling"]),
        ActiveLoop(None),
        FollowupAction("action_listen"),
    ]
    assert messages[0]["text"].endswith("Being involved in the manual handling of patients.")


async def test_an_unsure_question_near_a_fact_but_beyond_the_page(
    memory_store: SqlRoleStore,
) -> None:
    """The fact it is near, after saying the page doesn't say more (nights, shifts)."""
    events, messages = await unsure(
        memory_store, "hoisting patients on the night shift?", ("greet", 0.3)
    )
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]
    (text,) = [m["text"] for m in messages]
    assert text.startswith("The NHS Careers page doesn't say anything more specific about that")
    assert text.endswith("Being involved in the manual handling of patients.")


async def test_an_unsure_question_near_nothing_is_asked_back(memory_store: SqlRoleStore) -> None:
    events, messages = await unsure(memory_store, "hmm blue sky thinking", ("greet", 0.3))
    assert events == []
    assert messages[0]["text"] == "Sorry, I'm not sure I understood. Did you mean one of these?"


async def test_an_unsure_careers_question_beyond_the_page_is_answered_honestly(
    memory_store: SqlRoleStore,
) -> None:
    events, messages = await unsure(
        memory_store, "can they sponsor a visa for me", ("ask_entry_requirements", 0.4)
    )
    assert events == [ActiveLoop(None), FollowupAction("action_listen")]
    assert messages[0]["text"].startswith(
        "I'm sorry, I don't have information about the conditions of the job"
    )
    assert "Local NHS employers" in messages[0]["text"]


async def test_an_unsure_question_leaning_out_of_scope_says_so(
    memory_store: SqlRoleStore,
) -> None:
    events, messages = await unsure(memory_store, "who wins the cup final", ("out_of_scope", 0.4))
    assert events == [ActiveLoop(None), FollowupAction("action_listen")]
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


async def test_an_unsure_long_message_gets_the_questions_read_in_it(
    memory_store: SqlRoleStore,
) -> None:
    """Unsure of the whole message, and its words match no fact, but sure of its two
    questions (bot/parts.py): each is answered, not asked back."""
    text = "ok so random q lol. is that legit or what. and then the other thing later on"
    t = tracker("nlu_fallback", text, ranking=[{"name": "nlu_fallback", "confidence": 0.5}])
    first, second = text.index("is that"), text.index("and then")
    t.latest_message["entities"] = [
        {"entity": "question", "value": "ask_entry_requirements", "start": first, "end": second},
        {"entity": "question", "value": "ask_progression", "start": second, "end": len(text)},
    ]
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    said = "\n".join(m["text"] for m in messages)
    assert "not sure I understood" not in said
    assert "Entry requirements for" in said
    assert "study part-time towards a professional radiography qualification" in said
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]
