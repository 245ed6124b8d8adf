"""Turning store records into chat text: short paragraphs, bullets and the source link.

Pure functions, so the wording of every factual answer is tested without Rasa.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store import TOPIC_BY_KEY, Comparison, FactInfo, RoleInfo, SourceInfo


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
    name = TOPIC_BY_KEY[topic].name
    return f"{name[0].upper()}{name[1:]} for {who}:"


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
    """Sources as plain text, for replies that are not built from facts (no link to render)."""
    unique = list(dict.fromkeys(sources))
    if len(unique) == 1:
        return [f"Source: {unique[0].title}", unique[0].url]
    return ["Sources:", *(f"- {s.title}: {s.url}" for s in unique)]


def sources_of(facts: Sequence[FactInfo]) -> list[SourceInfo]:
    return list(dict.fromkeys(f.source for f in facts))


def source_data(sources: Sequence[SourceInfo]) -> list[dict[str, str]]:
    """What an answer's `sources` carry to the channels, which render them as links or text."""
    return [{"title": s.title, "url": s.url} for s in dict.fromkeys(sources)]


def topic_answer(
    topic: str,
    roles: Sequence[RoleInfo],
    facts: Sequence[FactInfo],
    lead: Sequence[FactInfo] = (),
) -> str:
    """What the page says on `topic` for `roles` (every one of which the facts apply to),
    after the `lead` facts that frame it, each a paragraph."""
    return "\n".join([heading(topic, roles), *(f.text for f in lead), *fact_lines(facts)])


def grouped_lines(
    facts: Sequence[FactInfo], asked: Sequence[RoleInfo], everyone: Sequence[RoleInfo]
) -> list[str]:
    """Facts grouped by the roles they hold for, each group named unless it is all of `asked`.

    The page states most facts for several roles at once; a reply for several roles says each
    fact once and names who it is about ("Imaging support workers: there is an NVQ ...").
    """
    asked_slugs = [r.slug for r in asked]
    by_slug = {r.slug: r for r in everyone}
    groups: dict[tuple[str, ...], list[FactInfo]] = {}
    for fact in facts:
        key = tuple(s for s in asked_slugs if s in fact.roles) or tuple(
            s for s in by_slug if s in fact.roles
        )
        groups.setdefault(key, []).append(fact)
    lines: list[str] = []
    for key, group in groups.items():
        who = [by_slug[s] for s in key if s in by_slug]
        if len(groups) == 1 and list(key) == asked_slugs:
            lines += fact_lines(group)
            continue
        if list(key) == asked_slugs:
            lines += [f"- {f.text}" for f in group]
            continue
        if all(_names_its_roles(f, who) for f in group):
            lines += [f.text for f in group]
            continue
        label = plurals(who)
        label = label[0].upper() + label[1:]
        if len(group) == 1 and not group[0].text.endswith(":"):
            lines.append(f"{label}: {group[0].text}")
        else:
            lines += [f"{label}:", *(f"- {f.text}" for f in group)]
    return lines


def _names_its_roles(fact: FactInfo, roles: Sequence[RoleInfo]) -> bool:
    """Whether a fact's text already says who it is about ("Assistant practitioners will ...")."""
    return fact.text.lower().startswith(plurals(roles))


def grouped_topic_answer(
    topic: str, facts: Sequence[FactInfo], asked: Sequence[RoleInfo], everyone: Sequence[RoleInfo]
) -> str:
    """A topic for several roles (or none named): each fact once, grouped by role."""
    covered = [r for r in asked if any(r.slug in f.roles for f in facts)]
    return "\n".join([heading(topic, covered or asked), *grouped_lines(facts, asked, everyone)])


def fact_answer(
    facts: Sequence[FactInfo], asked: Sequence[RoleInfo], everyone: Sequence[RoleInfo]
) -> str:
    """The one point asked about: the matching facts, each naming who it is about."""
    lines = grouped_lines(facts, asked, everyone)
    if all({r.slug for r in asked} <= set(f.roles) for f in facts):
        topic = facts[0].topic
        lead = (
            f"Among the duties of {plurals(asked)}, the page lists:"
            if topic == "duties" and not facts[0].text.endswith(":")
            else heading(topic, asked)
        )
        lines = [lead, *(fact_lines(facts) if len(facts) > 1 else [closed(facts[0].text)])]
    return "\n".join(lines)


def closed(text: str) -> str:
    """A fact said without the list it introduces: its last sentence, which announces the
    list ("Other duties might involve:"), left out when a sentence comes before it."""
    if not text.endswith(":"):
        return text
    before, _, _ = text.rpartition(". ")
    return f"{before}." if before else text


def nothing_on_topic(topic: str, role: RoleInfo, covered_for: Sequence[RoleInfo]) -> str:
    """The page is silent on this topic for this role: say so, and where it is not silent."""
    name = TOPIC_BY_KEY[topic].name
    text = (
        f"The NHS Careers page doesn't say anything about {name} "
        f"for {role.plural.lower()}, so I can't tell you about it."
    )
    if covered_for:
        text += (
            f" It does cover {name} for {plurals(covered_for)}, if you'd like to know about that."
        )
    return text


UNKNOWN_DETAIL = (
    "The NHS Careers page doesn't say anything more specific about that, so I won't guess: "
    "local NHS employers can tell you."
)


def comparison(result: Comparison) -> str:
    """What the page says about each role that it doesn't say about the other, and what both share.

    Worded as what the page says, never as "only A does X": the page not mentioning a duty for a
    role is not the page saying the role doesn't do it.
    """
    a, b = result.first, result.second
    lines = [f"Comparing {a.plural.lower()} and {b.plural.lower()} on the NHS Careers page:"]
    for role, other, facts in ((a, b, result.only_first), (b, a, result.only_second)):
        if not facts:
            continue
        lines += ["", f"It says about {role.plural.lower()} (not about {other.plural.lower()}):"]
        lines += [f"- {TOPIC_BY_KEY[f.topic].label}: {f.text}" for f in facts]
    if not result.only_first and not result.only_second:
        lines += ["", "It says the same about both."]
    distinct = {f.topic for f in (*result.only_first, *result.only_second)}
    shared_topics = list(dict.fromkeys(f.topic for f in result.shared if f.topic not in distinct))
    if shared_topics:
        names = join_words([TOPIC_BY_KEY[t].name for t in shared_topics])
        lines += ["", f"What it says about {names} applies to both."]
    return "\n".join(lines)


def against_radiographers(role: RoleInfo, facts: Sequence[FactInfo]) -> str:
    """A role compared with radiographers: the page describes only the role, so its words about
    the role and radiographers, and that it says no more about radiographers' own work."""
    lines = [f"What the NHS Careers page says about {role.plural.lower()} and radiographers:"]
    lines += fact_lines(facts)
    lines += [
        "",
        "It doesn't describe the radiographer's own job: it is about the support roles "
        "around them.",
    ]
    return "\n".join(lines)


def acknowledge_role(role: RoleInfo, summary: Sequence[FactInfo], topics: Sequence[str]) -> str:
    """A statement of interest in a role: the gist, and what else the assistant can tell."""
    names = join_words([TOPIC_BY_KEY[t].name for t in topics if t != "overview"])
    lines = [f"Good choice to look into. About {role.plural.lower()}:", *fact_lines(summary)]
    offer = f"I can also tell you about {names}. What would you like to know?"
    return "\n".join([*lines, "", offer])


def not_a_role(name: str, roles: Sequence[RoleInfo]) -> str:
    return (
        f"The NHS Careers page I use doesn't describe the {name} job, so I can't tell you about "
        f"it. It covers {plurals(roles)}; would you like to know about one of those?"
    )


def capabilities(roles: Sequence[RoleInfo]) -> str:
    return (
        f"I can answer questions about {plurals(roles)} in the NHS: what the role is, what they "
        "do, entry requirements, training, accreditation, progression and how to apply. My "
        "answers come from the NHS Careers website, and I'll tell you when it doesn't cover "
        "something, such as pay or working hours."
    )


def handoff(url: str | None, text: str | None) -> str:
    """A route to a person: the operator's contact when configured, else local NHS employers."""
    lead = "I'm an automated assistant, so I can't put you through to a person myself."
    if url:
        who = text or "The careers team can talk your options through with you."
        return f"{lead} {who} You can contact them here: {url}"
    return (
        f"{lead} To talk to someone about these jobs, contact local NHS employers directly: "
        "they can tell you what opportunities are available."
    )
