"""Nothing factual is written outside data/roles: every sentence of an answer is a fact from
the store, or one of the few framing lines the actions add (headings, role labels, caveats)."""

from __future__ import annotations

import re

import pytest

from actions.answers import ActionAnswerTopic, ActionCompareRoles, ActionNotOnPage
from bot.store import TOPIC_BY_KEY, TOPICS, SqlRoleStore
from tests.support.actions import run, tracker

# What an action may say around the facts: none of it states anything about a role.
FRAMING = re.compile(
    r"^(?:"
    r"(?:About|What|Among the duties of|Comparing|For|It says about|What it says about)\b.*:$"
    r"|(?:Entry requirements|Training|Accreditation|Progression|How to apply) for .*:$"
    r"|What the page does say:$"
    r"|The NHS Careers page doesn't say anything .*"
    r"|I'm sorry, I don't have .*"
    r"|What it says about .* applies to both\.$"
    r"|It says the same about both\.$"
    r"|Good choice to look into\. About .*:$"
    r"|I can also tell you about .*\?$"
    r")"
)
QUESTIONS = [
    "what do they do?",
    "entry requirements?",
    "do I need gcses",
    "is there an age limit",
    "is there lifting?",
    "do they need an nvq",
    "how do I apply",
    "tell me about accreditation",
    "can I study part time",
    "what training is there",
    "who do they help",
]


def _unframed(text: str, facts: set[str], names: list[str]) -> list[str]:
    """The lines of an answer that are neither framing nor a fact's text."""
    left = []
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        line = re.sub(r"^- (?:[A-Z][a-z ]+: )?", "", line)
        for name in names:  # "Imaging support workers: <fact>"
            if line.lower().startswith(name.lower() + ": "):
                line = line[len(name) + 2 :]
        if line in facts or FRAMING.match(line) or line.removesuffix(":") in names:
            continue
        left.append(line)
    return left


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize(
    "role", [None, "radiography-assistant", "imaging-support-worker", "assistant-practitioner"]
)
async def test_every_topic_answer_is_facts_and_framing(
    memory_store: SqlRoleStore, topic: str, role: str | None
) -> None:
    facts = {f.text for f in memory_store.all_facts()}
    names = _role_labels(memory_store)
    intent = TOPIC_BY_KEY[topic].intent
    t = tracker(intent, f"/{intent}", slots={"role": role})
    _, messages = await run(ActionAnswerTopic(memory_store), t)
    assert messages, "no answer to check"
    for message in messages:
        assert _unframed(message["text"], facts, names) == []


@pytest.mark.parametrize("question", QUESTIONS)
async def test_every_question_answer_is_facts_and_framing(
    memory_store: SqlRoleStore, question: str
) -> None:
    facts = {f.text for f in memory_store.all_facts()}
    names = _role_labels(memory_store)
    for action in (ActionAnswerTopic(memory_store), ActionNotOnPage(memory_store)):
        _, messages = await run(action, tracker("ask_duties", question))
        assert messages, f"{action.name()} sent nothing for {question!r}"
        for message in messages:
            text = message["text"].replace(" Local NHS employers can tell you", "\nLocal")
            lines = _unframed(text, facts, names)
            assert all(line.startswith("Local") for line in lines), lines


async def test_comparisons_are_facts_and_framing(memory_store: SqlRoleStore) -> None:
    facts = {f.text for f in memory_store.all_facts()}
    names = _role_labels(memory_store)
    slugs = [r.slug for r in memory_store.roles()]
    for first in slugs:
        for second in slugs:
            if first == second:
                continue
            t = tracker("compare_roles", "", roles=(first, second))
            _, messages = await run(ActionCompareRoles(memory_store), t)
            text = re.sub(r"^- [A-Z][a-z ]+: ", "", messages[0]["text"], flags=re.M)
            assert _unframed(text, facts, names) == []


def _role_labels(store: SqlRoleStore) -> list[str]:
    roles = store.roles()
    plurals = [r.plural for r in roles]
    return [
        *plurals,
        f"{plurals[0]} and {plurals[1].lower()}",
        f"{plurals[0]}, {plurals[1].lower()} and {plurals[2].lower()}",
    ]
