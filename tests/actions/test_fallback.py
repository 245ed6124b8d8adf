from __future__ import annotations

from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from actions.fallback import ActionAskAffirmation, ActionAskRephrase
from bot.store import SqlRoleStore
from tests.support.actions import run, tracker


async def test_did_you_mean_offers_the_likeliest_intents_with_the_role(
    memory_store: SqlRoleStore,
) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_duties", "confidence": 0.3},
        {"name": "greet", "confidence": 0.1},
        {"name": "ask_overview", "confidence": 0.05},
        {"name": "ask_training", "confidence": 0.04},
    ]
    t = tracker("nlu_fallback", "", roles=("ap",), ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
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
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "greet", "confidence": 0.3},
        {"name": "medical_emergency", "confidence": 0.2},
    ]
    _, messages = await run(
        ActionAskAffirmation(memory_store), tracker("nlu_fallback", "feel odd", ranking=ranking)
    )
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
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "medical_emergency", "confidence": 0.45},
    ]
    t = tracker("nlu_fallback", "is heavy lifting involved", ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    assert messages[0]["response"] == "utter_emergency"
    assert messages[1]["text"].endswith("Being involved in the manual handling of patients.")
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]


async def test_a_role_alone_after_an_answer_is_a_follow_up(memory_store: SqlRoleStore) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "inform_role", "confidence": 0.4},
    ]
    t = tracker(
        "nlu_fallback",
        "are they the same for ISWs?",
        roles=("ISWs",),
        slots={"topic": "training"},
        ranking=ranking,
    )
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    assert messages[0]["text"].startswith("Training for imaging support workers:")
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]


async def test_rephrase() -> None:
    _, messages = await run(ActionAskRephrase(), tracker("out_of_scope", "something else"))
    assert messages[0]["text"].startswith("Sorry, I didn't quite understand.")


async def test_an_unsure_question_that_matches_a_fact_gets_it(memory_store: SqlRoleStore) -> None:
    """The classifier is unsure, but the words match one duty: answer it and end the loop."""
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "greet", "confidence": 0.3}]
    t = tracker("nlu_fallback", "hoisting patients?", ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
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
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "greet", "confidence": 0.3}]
    t = tracker("nlu_fallback", "hoisting patients on the night shift?", ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    assert events[-2:] == [ActiveLoop(None), FollowupAction("action_listen")]
    (text,) = [m["text"] for m in messages]
    assert text.startswith("The NHS Careers page doesn't say anything more specific about that")
    assert text.endswith("Being involved in the manual handling of patients.")


async def test_an_unsure_question_near_nothing_is_asked_back(memory_store: SqlRoleStore) -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "greet", "confidence": 0.3}]
    t = tracker("nlu_fallback", "hmm blue sky thinking", ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    assert events == []
    assert messages[0]["text"] == "Sorry, I'm not sure I understood. Did you mean one of these?"


async def test_an_unsure_careers_question_beyond_the_page_is_answered_honestly(
    memory_store: SqlRoleStore,
) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_entry_requirements", "confidence": 0.4},
    ]
    t = tracker("nlu_fallback", "can they sponsor a visa for me", ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    assert events == [ActiveLoop(None), FollowupAction("action_listen")]
    assert messages[0]["text"].startswith("I'm sorry, I don't have that information")
    assert "Local NHS employers" in messages[0]["text"]


async def test_an_unsure_question_leaning_out_of_scope_says_so(
    memory_store: SqlRoleStore,
) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "out_of_scope", "confidence": 0.4},
    ]
    t = tracker("nlu_fallback", "who wins the cup final", ranking=ranking)
    events, messages = await run(ActionAskAffirmation(memory_store), t)
    assert events == [ActiveLoop(None), FollowupAction("action_listen")]
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]
