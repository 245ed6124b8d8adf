from __future__ import annotations

from actions.fallback import ActionAskAffirmation, ActionAskRephrase
from tests.actions.conftest import run, tracker


async def test_did_you_mean_offers_the_likeliest_intents_with_the_role() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_duties", "confidence": 0.3},
        {"name": "greet", "confidence": 0.1},
        {"name": "ask_overview", "confidence": 0.05},
        {"name": "ask_training", "confidence": 0.04},
    ]
    t = tracker("nlu_fallback", "ap stuff", roles=("ap",), ranking=ranking)
    events, messages = await run(ActionAskAffirmation(), t)
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


async def test_a_possible_medical_worry_gets_the_safety_advice_first() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.5},
        {"name": "ask_duties", "confidence": 0.3},
        {"name": "medical_emergency", "confidence": 0.2},
    ]
    _, messages = await run(ActionAskAffirmation(), tracker("nlu_fallback", "x", ranking=ranking))
    assert messages[0]["response"] == "utter_emergency"
    assert [b["payload"] for b in messages[1]["buttons"]] == [
        "/ask_duties",
        "/medical_emergency",
        "/out_of_scope",
    ]


async def test_rephrase() -> None:
    _, messages = await run(ActionAskRephrase(), tracker("out_of_scope", "something else"))
    assert messages[0]["text"].startswith("Sorry, I didn't quite understand.")
