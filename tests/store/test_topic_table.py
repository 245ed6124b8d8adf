"""The copies of the topic list that Rasa and the role content need agree with the one table
(bot/store/topics.py): a topic added, renamed or dropped in one place fails here."""

from __future__ import annotations

import shutil
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from bot.store import TOPIC_TABLE, TOPICS, ContentError, Topic, read_content

DATA = PROJECT_ROOT / "data"
# Worded like a topic's intent but answered by action_not_on_page: the page has no such topic.
NOT_TOPICS = {"ask_pay_and_conditions", "ask_human"}
# The one other intent answered by action_answer_topic: a role named alone.
ANSWERED_LIKE_A_TOPIC = {"inform_role"}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _domain_intents() -> list[str]:
    return [
        i if isinstance(i, str) else next(iter(i))
        for i in _load(PROJECT_ROOT / "domain.yml")["intents"]
    ]


def _nlu_examples() -> dict[str, list[str]]:
    """Intent -> its training examples, over every file in data/nlu."""
    examples: dict[str, list[str]] = {}
    for path in sorted((DATA / "nlu").glob("*.yml")):
        for block in _load(path).get("nlu") or []:
            if "intent" in block:
                lines = str(block.get("examples") or "").splitlines()
                examples.setdefault(block["intent"], []).extend(
                    line.strip()[2:] for line in lines if line.strip().startswith("- ")
                )
    return examples


def _steps(*folders: str) -> list[list[dict[str, Any]]]:
    """The steps of every rule and story in data/<folder>."""
    flows: list[list[dict[str, Any]]] = []
    for path in [p for folder in folders for p in sorted((DATA / folder).glob("*.yml"))]:
        data = _load(path)
        flows += [
            flow.get("steps") or [] for flow in [*data.get("rules", []), *data.get("stories", [])]
        ]
    return flows


def _answered_by(action: str, *folders: str) -> set[str]:
    """Intents the rules or stories in `folders` answer with `action` straight after the
    user's message."""
    return {
        step["intent"]
        for steps in _steps(*folders)
        for step, after in pairwise(steps)
        if "intent" in step and after.get("action") == action
    }


def _role_content_topics() -> list[tuple[str, str]]:
    """(file, topic) for every topic key written in data/roles: facts and whole-topic wordings."""
    found = []
    for path in sorted((DATA / "roles").glob("*.yml")):
        data = _load(path)
        for item in [*(data.get("facts") or []), *(data.get("topics") or [])]:
            found.append((path.name, str(item.get("topic"))))
    return found


@pytest.mark.parametrize("topic", TOPIC_TABLE, ids=TOPICS)
def test_each_topic_has_an_intent_with_examples_and_a_rule(topic: Topic) -> None:
    assert topic.intent in _domain_intents(), f"add {topic.intent} to domain.yml's intents"
    examples = _nlu_examples().get(topic.intent, [])
    assert len(examples) >= 10, f"{topic.intent} has {len(examples)} examples in data/nlu"
    assert topic.intent in _answered_by("action_answer_topic", "rules"), (
        f"no rule in data/rules answers {topic.intent} with action_answer_topic"
    )


def test_no_topic_intent_outside_the_table() -> None:
    intents = {*_domain_intents(), *_nlu_examples()}
    asked = {i for i in intents if i.startswith("ask_")}
    assert asked - NOT_TOPICS == {t.intent for t in TOPIC_TABLE}


def test_only_topics_and_a_role_alone_are_answered_as_topics() -> None:
    expected = {t.intent for t in TOPIC_TABLE} | ANSWERED_LIKE_A_TOPIC
    assert _answered_by("action_answer_topic", "rules", "stories") == expected


def test_role_content_names_only_topics_in_the_table() -> None:
    unknown = [(name, topic) for name, topic in _role_content_topics() if topic not in TOPICS]
    assert unknown == []


def test_every_topic_has_facts_and_whole_topic_wordings() -> None:
    data = [_load(path) for path in sorted((DATA / "roles").glob("*.yml"))]
    with_facts = {f["topic"] for d in data for f in d.get("facts") or []}
    with_wordings = {t["topic"] for d in data for t in d.get("topics") or []}
    assert set(TOPICS) - with_facts == set()
    assert set(TOPICS) - with_wordings == set()


@pytest.mark.parametrize("file", ["topics.yml", "nhs-careers-radiography-assistants.yml"])
def test_the_loader_rejects_a_topic_not_in_the_table(tmp_path: Path, file: str) -> None:
    shutil.copytree(DATA / "roles", tmp_path / "roles")
    path = tmp_path / "roles" / file
    path.write_text(path.read_text().replace("topic: training", "topic: salary", 1))
    with pytest.raises(ContentError) as caught:
        read_content(tmp_path / "roles")
    assert caught.value.path == str(path)
    assert caught.value.key.endswith("].topic")
    assert str(caught.value).endswith(
        "unknown topic 'salary' (expected one of overview, duties, entry_requirements, "
        "training, accreditation, progression, how_to_apply)"
    )


def test_the_table_has_no_repeated_key_or_wording() -> None:
    for field in ("key", "name", "label", "suggestion"):
        values = [getattr(t, field) for t in TOPIC_TABLE]
        assert len(set(values)) == len(values), field
