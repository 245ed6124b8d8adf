"""Actions with exact assertions: a tracker built here, an in-memory store with the real content."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet, UserUtteranceReverted

from actions.answers import (
    ActionAnswerTopic,
    ActionCompareRoles,
    ActionDefaultFallback,
    ActionListRoles,
    ActionNotOnPage,
    ActionWhatCanYouDo,
    not_on_page_subject,
)
from actions.base import STORE_UNAVAILABLE
from actions.feedback import FEEDBACK_BUTTONS
from bot.store import SqlRoleStore
from tests.actions.conftest import run, tracker

URL = (
    "http://www.nhscareers.nhs.uk/explore-by-career/wider-healthcare-team/"
    "careers-in-the-wider-healthcare-team/clinical-support-staff/"
    "radiography-assistantssupport-roles/"
)
SOURCE = f"Source: NHS Careers: Radiography assistants and imaging support workers\n{URL}"
ROLE_BUTTONS = [
    {"title": "Radiography assistant", "payload": '/inform_role{"role": "radiography-assistant"}'},
    {
        "title": "Imaging support worker",
        "payload": '/inform_role{"role": "imaging-support-worker"}',
    },
    {
        "title": "Assistant practitioner",
        "payload": '/inform_role{"role": "assistant-practitioner"}',
    },
]


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


async def test_entry_requirements_for_assistant_practitioners(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_entry_requirements", "entry reqs for APs?", roles=("APs",))
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("topic", "entry_requirements"),
        SlotSet("role", "assistant-practitioner"),
    ]
    assert texts(messages) == [
        "Entry requirements for assistant practitioners:\n"
        "Assistant practitioners will usually need further qualifications.\n\n" + SOURCE
    ]
    assert messages[0]["buttons"] == FEEDBACK_BUTTONS


async def test_entry_requirements_for_imaging_support_workers(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_entry_requirements", "what do i need to be an isw", roles=("isw",))
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages) == [
        "Entry requirements for imaging support workers:\n"
        "- There are no formal entry requirements to work as a radiography assistant or "
        "imaging support worker, although applicants may need to pass four (or more) GCSEs, "
        "or equivalent, to qualify for some more advanced work.\n"
        "- There is an NVQ related to imaging support workers, but it is not currently offered "
        "as a route to qualification as a radiographer.\n"
        "- A mature approach is essential.\n\n" + SOURCE
    ]


async def test_follow_up_uses_the_remembered_role(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "ask_accreditation", "how do they get accredited?", slots={"role": "assistant-practitioner"}
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [SlotSet("topic", "accreditation"), SlotSet("role", "assistant-practitioner")]
    assert texts(messages)[0].startswith(
        "Accreditation for assistant practitioners:\n- The Society of Radiographers (SoR) has"
    )
    assert texts(messages)[0].endswith(SOURCE)


async def test_a_role_named_alone_switches_role_for_the_last_topic(
    memory_store: SqlRoleStore,
) -> None:
    t = tracker(
        "inform_role",
        "and for imaging support workers?",
        roles=("imaging support workers",),
        slots={"role": "assistant-practitioner", "topic": "how_to_apply"},
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [SlotSet("topic", "how_to_apply"), SlotSet("role", "imaging-support-worker")]
    assert texts(messages) == [
        "How to apply for imaging support workers:\n"
        "- Contact local NHS employers to see what opportunities may be available.\n"
        "- It may be possible to get into this role through a level 3 (advanced) "
        "apprenticeship.\n\n" + SOURCE
    ]


async def test_a_role_typed_with_a_typo_and_no_entity(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_training", "trainng for radiografy assistants")
    events, _ = await run(ActionAnswerTopic(memory_store), t)
    assert events == [SlotSet("topic", "training"), SlotSet("role", "radiography-assistant")]


async def test_no_role_and_the_same_facts_for_all_answers_once(memory_store: SqlRoleStore) -> None:
    _, messages = await run(ActionAnswerTopic(memory_store), tracker("ask_training", "training?"))
    assert texts(messages) == [
        "Training for radiography assistants, imaging support workers and assistant "
        "practitioners:\n"
        "- Training is a key element of these tasks.\n"
        "- Training will usually be on the job, but short courses may be offered off-site.\n\n"
        + SOURCE
    ]


async def test_no_role_and_facts_for_one_role_answers_for_it(memory_store: SqlRoleStore) -> None:
    _, messages = await run(
        ActionAnswerTopic(memory_store), tracker("ask_accreditation", "accreditation?")
    )
    assert texts(messages)[0].startswith("Accreditation for assistant practitioners:\n")


async def test_no_role_and_different_facts_asks_which(memory_store: SqlRoleStore) -> None:
    events, messages = await run(
        ActionAnswerTopic(memory_store), tracker("ask_entry_requirements", "entry reqs?")
    )
    assert events == [SlotSet("topic", "entry_requirements")]
    assert messages[0]["text"] == "Which role would you like to know about (entry requirements)?"
    assert messages[0]["buttons"] == ROLE_BUTTONS


async def test_topic_the_page_is_silent_on_for_a_role(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_accreditation", "are radiography assistants accredited", roles=("ra",))
    t.latest_message["entities"][0]["value"] = "radiography assistants"
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages) == [
        "The NHS Careers page doesn't say anything about accreditation for radiography "
        "assistants, so I can't tell you about it. It does cover accreditation for assistant "
        "practitioners, if you'd like to know about that.\n\n" + SOURCE
    ]
    assert messages[0]["buttons"] == ROLE_BUTTONS[2:]


async def test_two_roles_named_answers_each(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_entry_requirements", "", roles=("radiography assistant", "AP"))
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [SlotSet("topic", "entry_requirements")]
    assert [m["text"].split("\n")[0] for m in messages] == [
        "Entry requirements for radiography assistants:",
        "Entry requirements for assistant practitioners:",
    ]


async def test_compare_two_named_roles(memory_store: SqlRoleStore) -> None:
    t = tracker("compare_roles", "", roles=("imaging support worker", "radiography assistant"))
    events, messages = await run(ActionCompareRoles(memory_store), t)
    assert events == [SlotSet("topic", None)]
    assert messages[0]["buttons"] == FEEDBACK_BUTTONS
    assert texts(messages) == [
        "How imaging support workers and radiography assistants differ, according to NHS "
        "Careers:\n\n"
        "Only imaging support workers:\n"
        "- Entry requirements: There is an NVQ related to imaging support workers, but it is "
        "not currently offered as a route to qualification as a radiographer.\n\n"
        "Only radiography assistants:\n"
        "- Nothing the page says is theirs alone.\n\n"
        "What the page says about the role, what they do, training, progression and how to "
        "apply applies to both.\n\n" + SOURCE
    ]


async def test_compare_one_named_role_with_the_remembered_one(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "compare_roles",
        "how is that different from an AP",
        roles=("AP",),
        slots={"role": "radiography-assistant"},
    )
    _, messages = await run(ActionCompareRoles(memory_store), t)
    assert messages[0]["text"].startswith(
        "How radiography assistants and assistant practitioners differ"
    )
    assert "- Accreditation: The Society of Radiographers (SoR)" in messages[0]["text"]


async def test_compare_one_role_asks_for_the_other(memory_store: SqlRoleStore) -> None:
    _, messages = await run(ActionCompareRoles(memory_store), tracker("compare_roles", "", ("AP",)))
    assert (
        messages[0]["text"] == "Which role would you like to compare assistant practitioners with?"
    )
    assert messages[0]["buttons"] == [
        {
            "title": "Radiography assistant",
            "payload": '/compare_roles{"role": ["assistant-practitioner", '
            '"radiography-assistant"]}',
        },
        {
            "title": "Imaging support worker",
            "payload": '/compare_roles{"role": ["assistant-practitioner", '
            '"imaging-support-worker"]}',
        },
    ]


async def test_compare_no_roles_offers_pairs(memory_store: SqlRoleStore) -> None:
    _, messages = await run(
        ActionCompareRoles(memory_store), tracker("compare_roles", "differences?")
    )
    assert messages[0]["text"] == "Which roles would you like to compare?"
    assert [b["title"] for b in messages[0]["buttons"]] == [
        "Radiography assistant and imaging support worker",
        "Radiography assistant and assistant practitioner",
        "Imaging support worker and assistant practitioner",
    ]


async def test_list_roles(memory_store: SqlRoleStore) -> None:
    _, messages = await run(ActionListRoles(memory_store), tracker("list_roles", "roles?"))
    assert texts(messages) == [
        "I can tell you about these radiography support roles in the NHS:\n"
        "- Radiography assistants\n- Imaging support workers\n- Assistant practitioners\n\n"
        "Which would you like to know about?"
    ]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/ask_overview{"role": "radiography-assistant"}',
        '/ask_overview{"role": "imaging-support-worker"}',
        '/ask_overview{"role": "assistant-practitioner"}',
    ]


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("how much does an AP earn", "pay"),
        ("what band is a radiography assistant", "pay bands"),
        ("do they work nights", "hours"),
        ("are there jobs near leeds", "locations"),
        ("tell me more", "that"),
    ],
)
async def test_not_on_page_never_states_a_number(
    memory_store: SqlRoleStore, text: str, subject: str
) -> None:
    assert not_on_page_subject(text) == subject
    _, messages = await run(ActionNotOnPage(memory_store), tracker("ask_pay_and_conditions", text))
    what = "that information" if subject == "that" else f"information about {subject}"
    assert texts(messages) == [
        f"I'm sorry, I don't have {what}: the NHS Careers page I use doesn't cover it, so I "
        "won't guess. Local NHS employers can tell you what opportunities are available; "
        "please contact them directly.\n\n" + SOURCE
    ]


async def test_what_can_you_do(memory_store: SqlRoleStore) -> None:
    _, messages = await run(ActionWhatCanYouDo(memory_store), tracker("what_can_you_do", "help"))
    assert messages[0]["text"].startswith(
        "I can answer questions about radiography assistants, imaging support workers and "
        "assistant practitioners in the NHS: what the role is,"
    )
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/list_roles",
        "/ask_entry_requirements",
        "/ask_how_to_apply",
    ]


async def test_default_fallback_reverts_and_redirects(memory_store: SqlRoleStore) -> None:
    events, messages = await run(ActionDefaultFallback(memory_store), tracker("nlu_fallback", "?"))
    assert events == [UserUtteranceReverted()]
    assert messages[0]["text"].startswith("Sorry, I still don't understand. I can answer")


async def test_store_unreachable_gets_an_apology() -> None:
    broken = SqlRoleStore("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    events, messages = await run(
        ActionAnswerTopic(broken), tracker("ask_duties", "what does an AP do", roles=("AP",))
    )
    assert events == []
    assert texts(messages) == [STORE_UNAVAILABLE]


async def test_store_not_loaded_gets_an_apology() -> None:
    _, messages = await run(ActionListRoles(SqlRoleStore.in_memory()), tracker("list_roles"))
    assert texts(messages) == [STORE_UNAVAILABLE]


def test_actions_connect_to_nothing_at_construction() -> None:
    action = ActionAnswerTopic()
    assert action._store is None


def test_the_action_server_registers_every_action() -> None:
    """rasa-sdk instantiates and registers every concrete Action subclass at start-up."""
    import yaml
    from rasa_sdk.executor import ActionExecutor

    from bot.settings import PROJECT_ROOT

    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    assert set(executor.actions) == set(domain["actions"])
    assert set(executor.actions) == {
        "action_answer_topic",
        "action_compare_roles",
        "action_list_roles",
        "action_not_on_page",
        "action_what_can_you_do",
        "action_default_fallback",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_record_feedback",
    }
