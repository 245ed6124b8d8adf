"""bot.questions: the questions inside a message, each with where it is."""

from __future__ import annotations

import pytest

from bot.questions import MAX_PARTS, is_long, split_questions


def texts(message: str) -> list[str]:
    return [p.text for p in split_questions(message)]


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        ("what do they do and how do I apply?", ["what do they do", "how do I apply?"]),
        ("wat do they do n how do i apply", ["wat do they do", "how do i apply"]),
        (
            "Do I need GCSEs, and is there an apprenticeship?",
            ["Do I need GCSEs", "is there an apprenticeship?"],
        ),
        ("Must I lift patients? And also clean?", ["Must I lift patients?", "clean?"]),
        # Words before the first question stay with it.
        (
            "For APs, what do they need and who accredits them?",
            ["For APs, what do they need", "who accredits them?"],
        ),
        # A list of questions after a colon, one of them three.
        (
            "Two things about ISWs: do they clean, who trains them, and how do I apply?",
            ["Two things about ISWs: do they clean", "who trains them", "how do I apply?"],
        ),
    ],
)
def test_each_question_of_a_message_is_a_part(message: str, parts: list[str]) -> None:
    assert texts(message) == parts


@pytest.mark.parametrize(
    "message",
    [
        "what does an imaging support worker do?",
        "do they have to have worked as an assistant first, or can you go straight in?",
        "training and progression for APs",
        "Quick question: how do I apply?",
    ],
)
def test_one_question_is_one_part_the_message_itself(message: str) -> None:
    assert texts(message) == [message]


def test_a_long_message_keeps_only_its_questions() -> None:
    message = (
        "Hi, I'm 34 and I've worked in retail for years. I have two children at school. "
        "I'm good with people and I don't mind early starts. "
        "Would I get trained on the job?"
    )
    assert is_long(message)
    assert texts(message) == ["Would I get trained on the job?"]


def test_a_question_that_refers_back_keeps_the_sentence_before() -> None:
    message = (
        "I work in a care home. I help residents move from bed to chair every day. "
        "I want a hospital job now. I am good at moving people safely. Do they do this too?"
    )
    assert texts(message) == ["I am good at moving people safely. Do they do this too?"]


def test_a_long_message_without_a_question_keeps_its_last_sentence() -> None:
    message = "I left school last year. I like helping people. Tell me about the training."
    assert texts(message) == ["Tell me about the training."]


def test_parts_point_into_the_message() -> None:
    message = "ok so what do they do, and how do I apply?"
    for part in split_questions(message):
        assert message[part.start : part.end] == part.text


def test_at_most_max_parts() -> None:
    message = " and ".join(["what do they do", "how do I apply", "who accredits them"] * 2)
    assert len(split_questions(message)) == MAX_PARTS


@pytest.mark.parametrize("message", ["", "   ", "?!.", "\x00\x01"])
def test_nothing_to_ask_is_no_part(message: str) -> None:
    assert split_questions(message) == []
