"""Turning store records into chat text: short paragraphs, bullets and the source link.

Pure functions, so the wording of every factual answer is tested without Rasa.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store import Comparison, FactInfo, RoleInfo, SourceInfo

# How a topic reads inside a sentence ("... about entry requirements for ...").
TOPIC_NAMES = {
    "overview": "the role",
    "duties": "what they do",
    "entry_requirements": "entry requirements",
    "training": "training",
    "accreditation": "accreditation",
    "progression": "progression",
    "how_to_apply": "how to apply",
}


# How a topic reads as a label in front of a fact.
TOPIC_LABELS = {
    "overview": "The role",
    "duties": "Duties",
    "entry_requirements": "Entry requirements",
    "training": "Training",
    "accreditation": "Accreditation",
    "progression": "Progression",
    "how_to_apply": "How to apply",
}


def join_words(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def plurals(roles: Sequence[RoleInfo]) -> str:
    return join_words([r.plural.lower() for r in roles])


def heading(topic: str, roles: Sequence[RoleInfo]) -> str:
    who = plurals(roles)
    if topic == "overview":
        return f"About {who}:"
    if topic == "duties":
        return f"What {who} do:"
    return f"{TOPIC_NAMES[topic][0].upper()}{TOPIC_NAMES[topic][1:]} for {who}:"


def fact_lines(facts: Sequence[FactInfo]) -> list[str]:
    """One fact is a paragraph; several are bullets. A fact ending in ':' introduces a list."""
    if len(facts) == 1:
        return [facts[0].text]
    lines: list[str] = []
    for fact in facts:
        if fact.text.endswith(":"):
            lines.append(fact.text)
        else:
            lines.append(f"- {fact.text}")
    return lines


def source_lines(sources: Sequence[SourceInfo]) -> list[str]:
    unique = list(dict.fromkeys(sources))
    if len(unique) == 1:
        return [f"Source: {unique[0].title}", unique[0].url]
    return ["Sources:", *(f"- {s.title}: {s.url}" for s in unique)]


def sources_of(facts: Sequence[FactInfo]) -> list[SourceInfo]:
    return list(dict.fromkeys(SourceInfo(f.source_url, f.source_title) for f in facts))


def topic_answer(topic: str, roles: Sequence[RoleInfo], facts: Sequence[FactInfo]) -> str:
    """What the page says on `topic` for `roles` (every one of which the facts apply to)."""
    parts = [heading(topic, roles), *fact_lines(facts), "", *source_lines(sources_of(facts))]
    return "\n".join(parts)


def nothing_on_topic(
    topic: str,
    role: RoleInfo,
    covered_for: Sequence[RoleInfo],
    sources: Sequence[SourceInfo],
) -> str:
    """The page is silent on this topic for this role: say so, and where it is not silent."""
    text = (
        f"The NHS Careers page doesn't say anything about {TOPIC_NAMES[topic]} "
        f"for {role.plural.lower()}, so I can't tell you about it."
    )
    if covered_for:
        text += (
            f" It does cover {TOPIC_NAMES[topic]} for {plurals(covered_for)}, "
            "if you'd like to know about that."
        )
    return "\n".join([text, "", *source_lines(sources)])


def comparison(result: Comparison) -> str:
    a, b = result.first, result.second
    lines = [f"How {a.plural.lower()} and {b.plural.lower()} differ, according to NHS Careers:"]
    for role, facts in ((a, result.only_first), (b, result.only_second)):
        lines += ["", f"Only {role.plural.lower()}:"]
        lines += [f"- {TOPIC_LABELS[f.topic]}: {f.text}" for f in facts] or [
            "- Nothing the page says is theirs alone."
        ]
    distinct = {f.topic for f in (*result.only_first, *result.only_second)}
    shared_topics = list(dict.fromkeys(f.topic for f in result.shared if f.topic not in distinct))
    if shared_topics:
        names = join_words([TOPIC_NAMES[t] for t in shared_topics])
        lines += ["", f"What the page says about {names} applies to both."]
    facts = (*result.only_first, *result.only_second, *result.shared)
    return "\n".join([*lines, "", *source_lines(sources_of(facts))])


def capabilities(roles: Sequence[RoleInfo]) -> str:
    return (
        f"I can answer questions about {plurals(roles)} in the NHS: what the role is, what they "
        "do, entry requirements, training, accreditation, progression and how to apply. My "
        "answers come from the NHS Careers website, and I'll tell you when it doesn't cover "
        "something, such as pay or working hours."
    )
