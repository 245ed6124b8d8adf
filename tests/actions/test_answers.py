"""Actions with exact assertions: a tracker built here, an in-memory store with the real content."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet, UserUtteranceReverted

from actions import replies
from actions.answers import (
    ActionAnswerTopic,
    ActionCompareRoles,
    ActionListRoles,
    ActionNotOnPage,
    ActionWhatCanYouDo,
    not_on_page_subject,
    part_intent,
)
from actions.base import STORE_UNAVAILABLE
from actions.fallback import ActionDefaultFallback
from actions.feedback import FEEDBACK_BUTTONS
from bot.store import SqlRoleStore
from bot.store.retrieval import FactIndex, pick_facts
from tests.support.actions import run, tracker

URL = (
    "http://www.nhscareers.nhs.uk/explore-by-career/wider-healthcare-team/"
    "careers-in-the-wider-healthcare-team/clinical-support-staff/"
    "radiography-assistantssupport-roles/"
)
SOURCES = [{"title": "NHS Careers: Radiography assistants and imaging support workers", "url": URL}]
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
GCSE_FACT = (
    "There are no formal entry requirements to work as a radiography assistant or imaging "
    "support worker, although applicants may need to pass four (or more) GCSEs, or equivalent, "
    "to qualify for some more advanced work."
)
NVQ_FACT = (
    "There is an NVQ related to imaging support workers, but it is not currently offered as a "
    "route to qualification as a radiographer."
)
CAVEAT = (
    "The NHS Careers page doesn't say anything more specific about that, so I won't guess: "
    "local NHS employers can tell you."
)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


def more_buttons(intent: str, topic_name: str) -> list[dict[str, str]]:
    return [{"title": f"More on {topic_name}", "payload": f"/{intent}"}, *FEEDBACK_BUTTONS]


# --- a topic for a named or remembered role -----------------------------------------------


async def test_entry_requirements_for_assistant_practitioners(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_entry_requirements", "entry reqs for APs?", roles=("APs",))
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("topic", "entry_requirements"),
        SlotSet("facts", None),
        SlotSet("role", "assistant-practitioner"),
    ]
    assert texts(messages) == [
        "Entry requirements for assistant practitioners:\n"
        "Assistant practitioners will usually need further qualifications."
    ]
    assert messages[0]["buttons"] == FEEDBACK_BUTTONS
    assert messages[0]["sources"] == SOURCES


async def test_entry_requirements_for_imaging_support_workers(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_entry_requirements", "what do i need to be an isw", roles=("isw",))
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages) == [
        "Entry requirements for imaging support workers:\n"
        f"- {GCSE_FACT}\n- {NVQ_FACT}\n- A mature approach is essential."
    ]


async def test_follow_up_uses_the_remembered_role(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "ask_accreditation", "how do they get accredited?", slots={"role": "assistant-practitioner"}
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("topic", "accreditation"),
        SlotSet("facts", None),
        SlotSet("role", "assistant-practitioner"),
    ]
    (text,) = texts(messages)
    assert text.startswith("Accreditation for assistant practitioners:\n")
    assert "Society and College of Radiographers' Curriculum Framework." in text


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
    assert events == [
        SlotSet("topic", "how_to_apply"),
        SlotSet("facts", None),
        SlotSet("role", "imaging-support-worker"),
    ]
    assert texts(messages) == [
        "How to apply for imaging support workers:\n"
        "- Contact local NHS employers to see what opportunities may be available.\n"
        "- It may be possible to get into this role through a level 3 (advanced) "
        "apprenticeship."
    ]


async def test_a_role_typed_with_a_typo_and_no_entity(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_training", "trainng for radiografy assistants")
    events, _ = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("topic", "training"),
        SlotSet("facts", None),
        SlotSet("role", "radiography-assistant"),
    ]


async def test_topic_the_page_is_silent_on_for_a_role(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_accreditation", "are radiography assistants accredited", roles=("ra",))
    t.latest_message["entities"][0]["value"] = "radiography assistants"
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages) == [
        "The NHS Careers page doesn't say anything about accreditation for radiography "
        "assistants, so I can't tell you about it. It does cover accreditation for assistant "
        "practitioners, if you'd like to know about that."
    ]
    assert messages[0]["buttons"] == ROLE_BUTTONS[2:]
    assert messages[0]["sources"] == SOURCES


async def test_a_button_payload_answers_the_whole_topic(memory_store: SqlRoleStore) -> None:
    """ "More on ..." sends the intent's payload, which must not be read as a question."""
    t = tracker("ask_duties", "/ask_duties", slots={"role": "imaging-support-worker"})
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages)[0].startswith(
        "What imaging support workers do:\nRadiography assistants and imaging support workers "
        "assist qualified diagnostic and therapeutic radiographers.\nThey generally all"
    )
    assert texts(messages)[0].count("\n- ") == 8


async def test_a_roles_duties_open_with_what_sets_the_role_apart(
    memory_store: SqlRoleStore,
) -> None:
    """What an AP does starts with the tasks only radiographers did; what all three roles
    share (the team decides the level of responsibility) is not repeated before the duties."""
    t = tracker("ask_duties", "/ask_duties", slots={"role": "assistant-practitioner"})
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    text = texts(messages)[0]
    assert text.index("previously only done by qualified and registered radiographers") < (
        text.index("They generally all assist patients")
    )
    assert "depend on the nature of the work of the team" not in text


# --- an answer first when no role is named or remembered -------------------------------------


async def test_no_role_and_the_same_facts_for_all_answers_once(memory_store: SqlRoleStore) -> None:
    _, messages = await run(ActionAnswerTopic(memory_store), tracker("ask_training", "training?"))
    assert texts(messages) == [
        "Training for radiography assistants, imaging support workers and assistant "
        "practitioners:\n"
        "- Training is a key element of these tasks.\n"
        "- Training will usually be on the job, but short courses may be offered off-site."
    ]


async def test_no_role_and_facts_for_one_role_answers_for_it(memory_store: SqlRoleStore) -> None:
    _, messages = await run(
        ActionAnswerTopic(memory_store), tracker("ask_accreditation", "accreditation?")
    )
    assert texts(messages)[0].startswith("Accreditation for assistant practitioners:\n")


async def test_no_role_answers_every_role_grouped(memory_store: SqlRoleStore) -> None:
    """The answer, not "which role?": shared facts once, role-specific ones named."""
    events, messages = await run(
        ActionAnswerTopic(memory_store), tracker("ask_entry_requirements", "entry reqs?")
    )
    assert events == [SlotSet("topic", "entry_requirements"), SlotSet("facts", None)]
    assert texts(messages) == [
        "Entry requirements for radiography assistants, imaging support workers and assistant "
        "practitioners:\n"
        "Radiography assistants and imaging support workers:\n"
        f"- {GCSE_FACT}\n"
        "- A mature approach is essential.\n"
        f"Imaging support workers: {NVQ_FACT}\n"
        "Assistant practitioners will usually need further qualifications."
    ]
    assert messages[0]["buttons"] == FEEDBACK_BUTTONS


async def test_how_to_apply_with_no_role_answers_at_once(memory_store: SqlRoleStore) -> None:
    _, messages = await run(
        ActionAnswerTopic(memory_store), tracker("ask_how_to_apply", "how do I apply?")
    )
    assert texts(messages) == [
        "How to apply for radiography assistants, imaging support workers and assistant "
        "practitioners:\n"
        "- Contact local NHS employers to see what opportunities may be available.\n"
        "Radiography assistants and imaging support workers: It may be possible to get into "
        "this role through a level 3 (advanced) apprenticeship."
    ]


async def test_a_group_wording_answers_for_its_roles(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_progression", "can support workers progress?", roles=("support workers",))
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages) == [
        "Progression for radiography assistants and imaging support workers:\n"
        "Some NHS employers may give staff in assistant roles the opportunity to work and study "
        "part-time towards a professional radiography qualification."
    ]


async def test_two_roles_named_answers_each_fact_once(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_entry_requirements", "", roles=("radiography assistant", "AP"))
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [SlotSet("topic", "entry_requirements"), SlotSet("facts", None)]
    assert texts(messages) == [
        "Entry requirements for radiography assistants and assistant practitioners:\n"
        f"Radiography assistants:\n- {GCSE_FACT}\n- A mature approach is essential.\n"
        "Assistant practitioners will usually need further qualifications."
    ]


# --- one point asked about: the matching fact first ----------------------------------------


async def test_a_question_about_one_duty_gets_that_duty(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_duties", "is there much lifting of patients?")
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [SlotSet("topic", "duties"), SlotSet("facts", ["duty-manual-handling"])]
    assert texts(messages) == [
        "Among the duties of radiography assistants, imaging support workers and assistant "
        "practitioners, the page lists:\n"
        "Being involved in the manual handling of patients."
    ]
    assert messages[0]["buttons"] == more_buttons("ask_duties", "what they do")
    assert messages[0]["sources"] == SOURCES


async def test_a_single_requirement_names_who_it_is_for(memory_store: SqlRoleStore) -> None:
    _, messages = await run(
        ActionAnswerTopic(memory_store), tracker("ask_entry_requirements", "do I need gcses?")
    )
    assert texts(messages) == [f"Radiography assistants and imaging support workers: {GCSE_FACT}"]


async def test_a_fact_about_another_role_adds_the_remembered_roles_own(
    memory_store: SqlRoleStore,
) -> None:
    """ "Do they need an NVQ too?" about assistant practitioners: the page ties the NVQ to
    imaging support workers, and says APs usually need further qualifications."""
    t = tracker(
        "ask_entry_requirements",
        "do they need an NVQ too?",
        slots={"role": "assistant-practitioner", "topic": "duties"},
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("topic", "entry_requirements"),
        SlotSet("facts", ["entry-nvq"]),
        SlotSet("role", "assistant-practitioner"),
    ]
    assert texts(messages) == [
        f"Imaging support workers: {NVQ_FACT}\n\n"
        "For assistant practitioners, the page says:\n"
        "Assistant practitioners will usually need further qualifications."
    ]


async def test_a_plain_english_word_reaches_the_fact(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "ask_duties", "would I have to fix the machines?", slots={"role": "imaging-support-worker"}
    )
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert "Undertaking basic maintenance of equipment." in texts(messages)[0]
    assert "Processing film images" not in texts(messages)[0]


def test_pick_facts_leaves_a_whole_topic_question_to_the_topic(memory_store: SqlRoleStore) -> None:
    index = FactIndex.from_store(memory_store)
    assert pick_facts(index.rank("what are the entry requirements?"), "entry_requirements") == []
    assert pick_facts(index.rank("how do I apply"), "how_to_apply") == []
    (fact,) = pick_facts(index.rank("is there an apprenticeship?"), "how_to_apply")
    assert fact.key == "apply-apprenticeship"


# --- statements of interest and unknown jobs ----------------------------------------------------


async def test_a_statement_of_interest_sets_the_role(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "inform_role",
        "I'm thinking of becoming an imaging support worker",
        roles=("imaging support worker",),
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("role", "imaging-support-worker"),
        SlotSet("topic", None),
        SlotSet("facts", None),
    ]
    assert texts(messages) == [
        "Good choice to look into. About imaging support workers:\n"
        "Radiography assistants and imaging support workers assist qualified diagnostic and "
        "therapeutic radiographers.\n\n"
        "I can also tell you about what they do, entry requirements, training, progression and "
        "how to apply. What would you like to know?"
    ]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/ask_duties",
        "/ask_entry_requirements",
        "/ask_how_to_apply",
    ]


async def test_a_different_job_is_not_mapped_to_a_role(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_duties", "what does a radiologist assistant do?")
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == []
    assert texts(messages) == [
        "The NHS Careers page I use doesn't describe the radiologist assistant job, so I can't "
        "tell you about it. It covers radiography assistants, imaging support workers and "
        "assistant practitioners; would you like to know about one of those?"
    ]


# --- honest about what the page doesn't say ------------------------------------------------------


async def test_a_question_beyond_the_page_says_so_first(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "ask_entry_requirements", "is there an age limit?", slots={"role": "imaging-support-worker"}
    )
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    (text,) = texts(messages)
    assert text.startswith(CAVEAT + "\n\nWhat the page does say:\nEntry requirements for imaging")
    assert not any(ch.isdigit() for ch in text.replace("four (or more)", "").replace("level 3", ""))


async def test_a_plain_topic_question_has_no_caveat(memory_store: SqlRoleStore) -> None:
    for text in ("what are the entry reqs", "what qualifications do I need", "entry requirments?"):
        _, messages = await run(
            ActionAnswerTopic(memory_store), tracker("ask_entry_requirements", text)
        )
        assert CAVEAT not in texts(messages)[0], text


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
        "please contact them directly."
    ]
    assert messages[0]["sources"] == SOURCES


async def test_part_time_study_is_on_the_page(memory_store: SqlRoleStore) -> None:
    """Routed to "not on the page" as if about hours, it is answered from progression."""
    t = tracker("ask_pay_and_conditions", "can I study part-time?")
    events, messages = await run(ActionNotOnPage(memory_store), t)
    assert events == [
        SlotSet("topic", "progression"),
        SlotSet("facts", ["progression-study-part-time"]),
    ]
    assert "study part-time towards a professional radiography qualification" in texts(messages)[0]
    assert "don't have" not in texts(messages)[0]


async def test_part_time_work_is_not_but_the_page_says_something_near(
    memory_store: SqlRoleStore,
) -> None:
    t = tracker("ask_pay_and_conditions", "can i do it part time")
    _, messages = await run(ActionNotOnPage(memory_store), t)
    (text,) = texts(messages)
    assert text.startswith("I'm sorry, I don't have information about hours")
    assert text.endswith(
        "What the page does say:\nSome NHS employers may give staff in assistant roles the "
        "opportunity to work and study part-time towards a professional radiography "
        "qualification."
    )


# --- comparing and listing ---------------------------------------------------------------------


async def test_compare_two_named_roles(memory_store: SqlRoleStore) -> None:
    t = tracker("compare_roles", "", roles=("imaging support worker", "radiography assistant"))
    events, messages = await run(ActionCompareRoles(memory_store), t)
    assert events == [SlotSet("topic", None)]
    assert messages[0]["buttons"] == FEEDBACK_BUTTONS
    assert texts(messages) == [
        "Comparing imaging support workers and radiography assistants on the NHS Careers "
        "page:\n\n"
        "It says about imaging support workers (not about radiography assistants):\n"
        f"- Entry requirements: {NVQ_FACT}\n\n"
        "What it says about the role, what they do, training, progression and how to apply "
        "applies to both."
    ]
    assert messages[0]["sources"] == SOURCES


async def test_compare_never_says_only_one_role_does_something(memory_store: SqlRoleStore) -> None:
    t = tracker("compare_roles", "", roles=("radiography assistant", "AP"))
    _, messages = await run(ActionCompareRoles(memory_store), t)
    (text,) = texts(messages)
    assert "Only" not in text
    assert "It says about radiography assistants (not about assistant practitioners):" in text
    # The one fact the page states of all three roles is not a difference.
    assert "level of responsibility" not in text


async def test_compare_one_named_role_with_the_remembered_one(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "compare_roles",
        "how is that different from an AP",
        roles=("AP",),
        slots={"role": "radiography-assistant"},
    )
    _, messages = await run(ActionCompareRoles(memory_store), t)
    assert messages[0]["text"].startswith(
        "Comparing radiography assistants and assistant practitioners"
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


async def test_a_question_across_the_roles_gets_the_answer_not_the_list(
    memory_store: SqlRoleStore,
) -> None:
    store = memory_store
    question = "Out of the three, which jobs can I do without any qualifications?"
    _, messages = await run(ActionListRoles(store), tracker("list_roles", question))
    assert "no formal entry requirements" in texts(messages)[0]
    _, messages = await run(
        ActionListRoles(store), tracker("list_roles", "what other jobs are there")
    )
    assert texts(messages)[0].startswith("I can tell you about these radiography support roles")


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
        "action_handoff",
        "action_compare_roles",
        "action_list_roles",
        "action_not_on_page",
        "action_what_can_you_do",
        "action_default_fallback",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_record_feedback",
        "action_ask_delete_conversation",
        "action_delete_conversation",
        "action_keep_conversation",
    }


# --- follow-ups across turns ------------------------------------------------------------------


async def test_a_role_named_after_a_fact_asks_the_same_point(memory_store: SqlRoleStore) -> None:
    """ "Do ISWs help with biopsies?" then "and APs?": the biopsy duty, not the whole topic."""
    t = tracker(
        "inform_role",
        "and APs?",
        roles=("APs",),
        slots={"topic": "duties", "facts": ["duty-procedures-biopsies"]},
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert events == [
        SlotSet("topic", "duties"),
        SlotSet("facts", ["duty-procedures-biopsies"]),
        SlotSet("role", "assistant-practitioner"),
    ]
    assert texts(messages) == [
        "Among the duties of assistant practitioners, the page lists:\n"
        "Preparing and assisting with general and specialised procedures, including biopsies."
    ]


async def test_a_short_follow_up_stays_on_the_topic(memory_store: SqlRoleStore) -> None:
    """ "What's the aim of it?" after accreditation: the accreditation aim, though the intent
    says overview."""
    t = tracker(
        "ask_overview",
        "what's the aim of it?",
        slots={"topic": "accreditation", "role": "assistant-practitioner"},
    )
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert "recognised within the NHS" in texts(messages)[0]


async def test_is_that_part_time_after_progression(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_pay_and_conditions", "is that part time?", slots={"topic": "progression"})
    _, messages = await run(ActionNotOnPage(memory_store), t)
    assert "study part-time" in texts(messages)[0]
    assert "don't have" not in texts(messages)[0]


async def test_what_about_a_role_after_an_answer_is_a_follow_up(memory_store: SqlRoleStore) -> None:
    """Read as "what is an AP?" by the classifier, it is the same question for APs."""
    t = tracker(
        "ask_overview",
        "what about APs?",
        roles=("APs",),
        slots={
            "topic": "duties",
            "facts": ["duty-procedures-biopsies"],
            "role": "imaging-support-worker",
        },
    )
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages)[0].endswith("including biopsies.")


async def test_what_is_a_role_is_not_a_follow_up(memory_store: SqlRoleStore) -> None:
    t = tracker("ask_overview", "what is an AP?", roles=("AP",), slots={"topic": "duties"})
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert texts(messages)[0].startswith("About assistant practitioners:")


async def test_default_fallback_still_answers_what_it_can(memory_store: SqlRoleStore) -> None:
    """Rasa gives up after two unsure messages even if the first was answered."""
    events, messages = await run(
        ActionDefaultFallback(memory_store), tracker("nlu_fallback", "is there heavy lifting")
    )
    assert UserUtteranceReverted() not in events
    assert texts(messages)[0].endswith("Being involved in the manual handling of patients.")


async def test_a_fact_of_another_role_on_another_topic_leaves_the_remembered_roles_topic(
    memory_store: SqlRoleStore,
) -> None:
    """ "How do I become one?" after imaging support workers: how they apply, not the overview
    fact on how assistant practitioners come to their role, which its words match best."""
    t = tracker(
        "ask_how_to_apply",
        "how do i become one",
        slots={"role": "imaging-support-worker", "topic": "overview"},
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert SlotSet("topic", "how_to_apply") in events
    assert "Contact local NHS employers" in texts(messages)[0]
    assert "experienced assistants" not in texts(messages)[0]


@pytest.mark.parametrize(
    ("confidence", "said", "not_said"),
    [
        (0.9, "Society of Radiographers", "will usually need further qualifications"),
        (0.6, "will usually need further qualifications", "Society of Radiographers"),
    ],
)
async def test_a_sure_topic_beats_a_loose_match_on_another(
    memory_store: SqlRoleStore, confidence: float, said: str, not_said: str
) -> None:
    """Sure it is accreditation, though "qualifications" matches an entry fact loosely: the
    accreditation answer; unsure, the fact its words match."""
    t = tracker(
        "ask_accreditation",
        "and if he did, who would vouch for his qualifications?",
        slots={"role": "assistant-practitioner", "topic": "overview"},
    )
    t.latest_message["intent"]["confidence"] = confidence
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert said in texts(messages)[0]
    assert not_said not in texts(messages)[0]


@pytest.mark.parametrize(
    ("role", "said"),
    [
        (
            "assistant-practitioner",
            "previously only done by qualified and registered radiographers",
        ),
        ("radiography-assistant", "assist qualified diagnostic and therapeutic radiographers"),
    ],
)
async def test_a_role_compared_with_radiographers_gets_what_the_page_says_of_both(
    memory_store: SqlRoleStore, role: str, said: str
) -> None:
    t = tracker("compare_roles", "how is it different from a proper radiographer?", roles=(role,))
    events, messages = await run(ActionCompareRoles(memory_store), t)
    assert said in texts(messages)[0]
    assert "doesn't describe the radiographer's own job" in texts(messages)[0]
    assert SlotSet("role", role) in events


@pytest.mark.parametrize(
    ("confidence", "said"),
    [(0.66, "Society of Radiographers (SoR) has developed"), (0.95, "an emerging role")],
)
async def test_a_short_question_about_that_stays_on_the_conversations_topic(
    memory_store: SqlRoleStore, confidence: float, said: str
) -> None:
    """ "Who runs that?" after accreditation: its words match nothing on the page, so "that" is
    the accreditation, not the overview the classifier guesses; unless it is sure."""
    t = tracker(
        "ask_overview",
        "who runs that?",
        slots={"topic": "accreditation", "role": "assistant-practitioner"},
    )
    t.latest_message["intent"]["confidence"] = confidence
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert said in texts(messages)[0]


async def test_a_follow_up_typed_quickly_is_a_follow_up(memory_store: SqlRoleStore) -> None:
    t = tracker(
        "ask_overview",
        "wat about APs?",
        roles=("APs",),
        slots={"topic": "duties", "role": "radiography-assistant"},
    )
    events, messages = await run(ActionAnswerTopic(memory_store), t)
    assert SlotSet("topic", "duties") in events
    assert "Processing film images." in texts(messages)[0]


@pytest.mark.parametrize("named", [True, False])
async def test_a_fact_naming_the_qualification_asked_about_comes_first(
    memory_store: SqlRoleStore, named: bool
) -> None:
    """ "Qualify as a radiographer" matches the part-time study towards it best; the message
    names the NVQ, and the fact about the NVQ is the answer."""
    t = tracker("ask_progression", "can I qualify as a radiographer through an NVQ?")
    if named:
        t.latest_message["entities"].append({"entity": "qualification", "value": "NVQ"})
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    said = "not currently offered as a route to qualification as a radiographer"
    assert (said in texts(messages)[0]) is named


def test_an_introduction_said_alone_leaves_out_the_list_it_announces() -> None:
    intro = "They generally all assist patients as part of their work. Other duties might involve:"
    assert replies.closed(intro) == "They generally all assist patients as part of their work."
    assert replies.closed("Other duties might involve:") == "Other duties might involve:"
    assert replies.closed("Processing film images.") == "Processing film images."


def test_a_part_that_names_a_fact_outright_is_about_its_topic(memory_store: SqlRoleStore) -> None:
    index = FactIndex.from_store(memory_store)
    nvq = "Is there an NVQ for imaging support workers?"
    assert part_intent(index, "ask_accreditation", nvq) == "ask_entry_requirements"
    assert part_intent(index, "ask_accreditation", "who accredits them") == "ask_accreditation"
    # What the page doesn't say stays so, whatever its words match.
    assert part_intent(index, "ask_pay_and_conditions", "do they work shifts?") == (
        "ask_pay_and_conditions"
    )


async def test_a_comparison_of_one_role_without_comparing_is_a_question_about_it(
    memory_store: SqlRoleStore,
) -> None:
    question = "is maintaining stock levels part of a radiography assistant's job?"
    message = tracker("compare_roles", question, roles=("radiography-assistant",))
    _, messages = await run(ActionCompareRoles(memory_store), message)
    assert "stock levels" in texts(messages)[0]
    asked = tracker(
        "compare_roles", "how do radiography assistants compare?", ("radiography-assistant",)
    )
    _, messages = await run(ActionCompareRoles(memory_store), asked)
    assert texts(messages)[0].startswith("Which role would you like to compare")
