"""bot.parts: each question of a message classified on its own, never an emergency decided."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.embeddings import get_encoder
from bot.parts import PartsModel, QuestionParts

TRAINING = {
    "ask_duties": ["what do they do", "what are the duties", "what does the job involve"],
    "ask_how_to_apply": ["how do I apply", "where do I send an application", "how to apply"],
    "ask_training": ["is there training", "do they train you on the job", "what training"],
}


@pytest.fixture(scope="module")
def component() -> QuestionParts:
    texts = [t for examples in TRAINING.values() for t in examples]
    labels = [name for name, examples in TRAINING.items() for _ in examples]
    vectors = get_encoder().encode_many(texts).astype(np.float64)
    model = PartsModel.fit(vectors, labels)
    return QuestionParts({}, None, None, model)


def parse(component: QuestionParts, text: str, intent: str) -> Message:
    message = Message(
        data={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    )
    component.process([message])
    return message


def questions(message: Message) -> list[tuple[Any, str]]:
    text = message.get("text")
    return [
        (e["value"], text[e["start"] : e["end"]])
        for e in message.get("entities")
        if e["entity"] == "question"
    ]


def test_each_question_gets_its_intent(component: QuestionParts) -> None:
    message = parse(component, "what does the job involve and how do I apply?", "ask_duties")
    assert questions(message) == [
        ("ask_duties", "what does the job involve"),
        ("ask_how_to_apply", "how do I apply?"),
    ]
    assert message.get("intent")["name"] == "ask_duties"


def test_a_long_message_takes_its_questions_intent(component: QuestionParts) -> None:
    text = (
        "I've worked in a shop for ten years and I'm good with customers. "
        "My children are older now so I want a change. Is there training?"
    )
    message = parse(component, text, "ask_how_to_apply")
    assert message.get("intent")["name"] == "ask_training"
    assert questions(message) == [("ask_training", "Is there training?")]


def test_one_question_is_left_to_diet(component: QuestionParts) -> None:
    message = parse(component, "how do I apply?", "ask_duties")
    assert message.get("intent")["name"] == "ask_duties"
    assert questions(message) == []


def test_an_emergency_is_left_alone(component: QuestionParts) -> None:
    message = parse(component, "my dad collapsed and how do I apply", "medical_emergency")
    assert message.get("intent")["name"] == "medical_emergency"
    assert questions(message) == []


def test_the_model_learns_a_separable_set() -> None:
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    model = PartsModel.fit(vectors, ["a", "a", "b", "b"])
    assert [name for name, _ in model.classify(np.array([[1.0, 0.0], [0.0, 1.0]]))] == ["a", "b"]
    assert all(p > 0.8 for _, p in model.classify(np.array([[1.0, 0.0], [0.0, 1.0]])))
