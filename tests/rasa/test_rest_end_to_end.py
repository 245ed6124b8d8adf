"""The real Rasa server and action server on 127.0.0.1, talked to through the REST channel."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from actions.fallback import CAREERS_INTENTS
from bot import serve
from bot.channels.conversations import REST, conversation_id
from tests.support.http import Conversation, request
from tests.support.logs import ConversationLog

URL = "http://www.nhscareers.nhs.uk/explore-by-career/"


def conversation(assistant: serve.Running) -> Conversation:
    return Conversation(assistant.rasa_url, sender=f"test-{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "what are the entry requirements for an assistant practitioner?",
            "Assistant practitioners will usually need further qualifications.",
        ),
        (
            "what qualifications do I need to be an imaging support worker",
            "There is an NVQ related to imaging support workers",
        ),
        (
            "how do I apply to be a radiography assistant?",
            "It may be possible to get into this role through a level 3 (advanced) apprenticeship.",
        ),
    ],
)
def test_page_facts_for_each_role(assistant: serve.Running, question: str, expected: str) -> None:
    replies = conversation(assistant).say(question)
    reply = "\n\n".join(r.get("text", "") for r in replies)
    assert expected in reply
    # The source travels as data for each channel to render, not as a URL in the text.
    assert URL not in reply
    sources = [s for r in replies for s in r.get("sources") or []]
    assert [s["url"][: len(URL)] for s in sources] == [URL]


def test_role_carries_across_turns_and_switches(assistant: serve.Running) -> None:
    chat = conversation(assistant)
    first = chat.text("what does an assistant practitioner do?")
    assert first.startswith("What assistant practitioners do:")
    second = chat.text("how do they get accredited?")
    assert second.startswith("Accreditation for assistant practitioners:")
    assert "Society of Radiographers (SoR)" in second
    third = chat.text("and for imaging support workers?")
    assert third.startswith(
        "The NHS Careers page doesn't say anything about accreditation for imaging support workers"
    )
    fourth = chat.text("how would they apply?")
    assert fourth.startswith("How to apply for imaging support workers:")


def test_declines_to_invent_pay(assistant: serve.Running) -> None:
    reply = conversation(assistant).text("how much does an assistant practitioner earn?")
    assert reply.startswith("I'm sorry, I don't have information about pay")
    assert not re.search(r"£|\d{2,}", reply.split("Source:")[0])


def test_a_medical_emergency_gets_999(assistant: serve.Running) -> None:
    reply = conversation(assistant).text("I've got crushing chest pain")
    assert "call 999" in reply
    assert "NHS 111" in reply


def test_a_question_naming_no_role_is_answered_for_every_role(assistant: serve.Running) -> None:
    chat = conversation(assistant)
    reply = chat.text("what are the entry requirements?")
    assert reply.startswith(
        "Entry requirements for radiography assistants, imaging support workers and assistant "
        "practitioners:\nRadiography assistants and imaging support workers:\n"
        "- There are no formal entry requirements"
    )
    assert "Assistant practitioners will usually need further qualifications." in reply
    assert "Which role" not in reply


def test_a_statement_of_interest_carries_to_the_next_questions(assistant: serve.Running) -> None:
    chat = conversation(assistant)
    first = chat.text("I'm thinking about becoming an assistant practitioner")
    assert first.startswith("Good choice to look into. About assistant practitioners:")
    second = chat.text("what would I need?")
    assert "Assistant practitioners will usually need further qualifications." in second
    assert "no formal entry requirements" not in second
    third = chat.text("and how do I get accredited?")
    assert "Society of Radiographers" in third


# Messages a user might type that name no clear intent. Which of them this model is unsure
# about depends on training, so the tests ask the model and use the ones it falls back on.
VAGUE_CANDIDATES = [
    "asdfgh",
    "lorem ipsum dolor",
    "hmm maybe",
    "erm",
    "the thing",
    "what about it",
    "so",
    "sort of",
    "eh?",
    "purple",
    "maybe later perhaps",
    "and then",
    "it",
    "ok so",
    "thingy",
    "whatever",
    "hm",
    "well",
    "right so",
    "um yes no",
]


LEANING = {*CAREERS_INTENTS, "out_of_scope"}


@pytest.fixture(scope="module")
def vague_messages(assistant: serve.Running, conversation_log: ConversationLog) -> list[str]:
    """Candidates the trained model classifies below the fallback threshold, as the running
    assistant logged its parse of each."""
    found = []
    for text in VAGUE_CANDIDATES:
        chat = conversation(assistant)
        chat.say(text)
        [parsed] = [
            e["parse_data"] for e in chat_events(conversation_log, chat) if e["event"] == "user"
        ]
        ranking = [i["name"] for i in parsed["intent_ranking"]]
        # Unsure, and not leaning out of scope or to a careers question (those get an
        # answer or the out-of-scope reply instead of "did you mean").
        if ranking[0] == "nlu_fallback" and ranking[1] not in LEANING:
            found.append(text)
    assert len(found) >= 2, f"the model is confident about every vague message: {found}"
    return found


def chat_events(log: ConversationLog, chat: Conversation) -> list[dict[str, Any]]:
    return log.saved_events(conversation_id(REST, chat.sender))


def did_you_mean(chat: Conversation, message: str) -> list[dict[str, Any]]:
    """Say `message`; the last reply must be the "did you mean" question: its buttons."""
    replies = chat.say(message)
    assert replies[-1]["text"] == "Sorry, I'm not sure I understood. Did you mean one of these?"
    buttons: list[dict[str, Any]] = replies[-1]["buttons"]
    return buttons


def test_choosing_a_did_you_mean_suggestion_answers_it(
    assistant: serve.Running, vague_messages: list[str]
) -> None:
    chat = conversation(assistant)
    assert len(did_you_mean(chat, vague_messages[0])) >= 2
    answer = chat.text('/ask_duties{"role": "assistant practitioner"}')
    assert answer.startswith("What assistant practitioners do:")


def test_vague_messages_get_did_you_mean_then_a_polite_redirect(
    assistant: serve.Running, vague_messages: list[str]
) -> None:
    chat = conversation(assistant)
    buttons = did_you_mean(chat, vague_messages[0])
    assert buttons[-1] == {"title": "Something else", "payload": "/out_of_scope"}
    second = chat.text("/out_of_scope")
    assert second.startswith("Sorry, I didn't quite understand. Could you say that another way?")
    did_you_mean(chat, vague_messages[1])
    last = chat.text("/out_of_scope")
    assert last.startswith("Sorry, I still don't understand. I can answer questions about")


@pytest.mark.parametrize(
    "message",
    ["", " ", "<img src=x onerror=alert(1)>", "x" * 5000, "\x00\x01\ufffd", "🙂" * 50],
)
def test_odd_input_gets_an_answer_not_a_crash(assistant: serve.Running, message: str) -> None:
    replies = conversation(assistant).say(message)
    texts = [str(r.get("text") or "") for r in replies]
    assert texts and all(t.strip() for t in texts), replies
    assert not any("<img" in t or "onerror" in t for t in texts), texts


def test_malformed_json_is_a_client_error(assistant: serve.Running) -> None:
    reply = request(
        f"{assistant.rasa_url}/webhooks/rest/webhook",
        "POST",
        b"{not json",
        {"Content-Type": "application/json"},
    )
    assert 400 <= reply.status < 500, reply


def test_one_point_then_the_same_point_for_another_role(assistant: serve.Running) -> None:
    """A question about one duty gets that duty; "and for APs?" asks it again for them."""
    chat = conversation(assistant)
    first = chat.text("do imaging support workers have to lift patients?")
    assert first.endswith("Being involved in the manual handling of patients.")
    assert "Processing film images" not in first
    second = chat.text("and for APs?")
    assert second == (
        "Among the duties of assistant practitioners, the page lists:\n"
        "Being involved in the manual handling of patients."
    )


def test_a_question_beyond_the_page_says_so_and_points_to_employers(
    assistant: serve.Running,
) -> None:
    reply = conversation(assistant).text("is there an age limit for radiography assistants?")
    assert "doesn't say" in reply
    assert "local NHS employers" in reply
    assert not re.search(r"\b(?:1[6-9]|[2-9]\d)\b", reply)
