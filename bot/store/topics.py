"""The topics the assistant answers on, and how each one reads: the one table of them.

The store checks facts against it, the actions word replies and buttons from it. Rasa needs
each topic's intent in domain.yml, data/nlu and data/rules; tests/store/test_topic_table.py
checks that those, and the role content, agree with this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    key: str  # stored with each fact, and written in data/roles/*.yml
    name: str  # inside a sentence: "... about entry requirements for ..."
    label: str  # in front of a fact, and on a button that asks for the topic
    suggestion: str  # on a "did you mean" button after an unsure message

    @property
    def intent(self) -> str:
        """The intent that asks for the whole topic."""
        return f"ask_{self.key}"


TOPIC_TABLE: tuple[Topic, ...] = (
    Topic("overview", "the role", "The role", "What the role is"),
    Topic("duties", "what they do", "Duties", "What they do"),
    Topic("entry_requirements", "entry requirements", "Entry requirements", "Entry requirements"),
    Topic("training", "training", "Training", "Training"),
    Topic("accreditation", "accreditation", "Accreditation", "Accreditation"),
    Topic("progression", "progression", "Progression", "Career progression"),
    Topic("how_to_apply", "how to apply", "How to apply", "How to apply"),
)
TOPICS: tuple[str, ...] = tuple(t.key for t in TOPIC_TABLE)
TOPIC_BY_KEY: Mapping[str, Topic] = {t.key: t for t in TOPIC_TABLE}
TOPIC_BY_INTENT: Mapping[str, Topic] = {t.intent: t for t in TOPIC_TABLE}


class UnknownTopic(ValueError):
    """A topic key that is not in the table (a typo in the role content, a bad argument)."""


def require_topic(key: str) -> Topic:
    """The topic with this key; UnknownTopic naming the keys there are otherwise."""
    found = TOPIC_BY_KEY.get(key)
    if found is None:
        raise UnknownTopic(f"unknown topic '{key}' (expected one of {', '.join(TOPICS)})")
    return found
