"""Reading and checking the role content in `data/roles/*.yml`.

Everything is validated in memory before the store is touched, so a bad file stops the load
with a message naming the file and the key, and the existing store stays as it was.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT
from bot.store.topics import UnknownTopic, require_topic

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Digits and currency in a fact's text must come from its quote: the assistant never invents
# pay, bands or hours, and this catches a number slipped into a paraphrase.
_NUMBERISH = re.compile(r"[0-9£$€]+")


class ContentError(ValueError):
    """Invalid role content; the message names the file and the key."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        super().__init__(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")


@dataclass(frozen=True)
class RoleSpec:
    slug: str
    title: str
    plural: str
    summary: str
    summary_source: str
    names: tuple[str, ...]
    path: str
    key: str


@dataclass(frozen=True)
class SourceSpec:
    url: str
    title: str
    snapshot: Path
    text: str
    not_facts: tuple[str, ...]
    path: str


@dataclass(frozen=True)
class FactSpec:
    topic: str
    roles: tuple[str, ...]
    text: str
    quote: str
    source_url: str
    path: str
    key: str = ""
    asked_as: tuple[str, ...] = ()


@dataclass(frozen=True)
class TermSpec:
    label: str
    name: str


@dataclass(frozen=True)
class TopicSpec:
    """How people ask about a whole topic, for the retrieval step."""

    topic: str
    asked_as: tuple[str, ...]


@dataclass(frozen=True)
class GroupSpec:
    """A wording that means several roles at once ("support roles")."""

    names: tuple[str, ...]
    roles: tuple[str, ...]
    path: str = ""


@dataclass(frozen=True)
class Content:
    roles: tuple[RoleSpec, ...]
    sources: tuple[SourceSpec, ...]
    facts: tuple[FactSpec, ...]
    terms: tuple[TermSpec, ...] = ()
    topics: tuple[TopicSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    not_roles: tuple[str, ...] = ()


def squash(text: str) -> str:
    """Fold runs of white space so YAML line folding cannot break a verbatim match."""
    return " ".join(text.split())


def normalise_name(text: str) -> str:
    """The form role names are stored and looked up in: lower case words, no punctuation."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"'s\b", "s", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=8192)
def closest(word: str, choices: frozenset[str], cutoff: float) -> str | None:
    """The choice most like `word` (difflib's ratio, at least `cutoff`), or None.

    Remembered per (word, choices): the role store and the fact ranker ask the same few
    hundred words against the same few sets on every message, and difflib was a third of
    the action server's time. A frozenset keeps its hash, and difflib breaks ties by the
    string, not the order, so the answer is the one a list would give."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return close[0] if close else None


def page_sentences(text: str) -> list[str]:
    """Split a source page into the sentences, bullets and headings it is made of."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("•").strip()
        if line:
            sentences.extend(s for s in re.split(r"(?<=[.!?:])\s+", line) if s)
    return sentences


def uncovered_sentences(source: SourceSpec, facts: tuple[FactSpec, ...]) -> list[str]:
    """Sentences of the page that neither a fact quotes nor `not_facts` lists."""
    covered = {squash(s) for s in source.not_facts}
    covered |= {
        squash(s) for f in facts if f.source_url == source.url for s in page_sentences(f.quote)
    }
    return [s for s in page_sentences(source.text) if squash(s) not in covered]


def _require_str(data: dict[str, Any], key: str, path: Path, where: str) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ContentError(path, f"{where}.{key}", "is missing")
    if not isinstance(value, str):
        raise ContentError(path, f"{where}.{key}", f"must be text, not {type(value).__name__}")
    return squash(value)


def _require_str_list(data: dict[str, Any], key: str, path: Path, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        raise ContentError(path, f"{where}.{key}", "is missing")
    if not isinstance(value, list) or not value:
        raise ContentError(path, f"{where}.{key}", "must be a non-empty list")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ContentError(path, f"{where}.{key}[{i}]", "must be non-empty text")
    return tuple(squash(v) for v in value)


def _require_topic(data: dict[str, Any], path: Path, where: str) -> str:
    """A topic key from the table in bot/store/topics.py."""
    topic = _require_str(data, "topic", path, where)
    try:
        return require_topic(topic).key
    except UnknownTopic as exc:
        raise ContentError(path, f"{where}.topic", str(exc)) from None


def _mapping(value: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContentError(path, where, f"must be a mapping, not {type(value).__name__}")
    return value


def _mappings(raw: Any, path: Path, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The items of the list under top-level `key`, each a mapping, with where it stands."""
    if not isinstance(raw, list):
        raise ContentError(path, key, "must be a list")
    for i, item in enumerate(raw):
        yield f"{key}[{i}]", _mapping(item, path, f"{key}[{i}]")


_TOP_LEVEL_KEYS = ("roles", "groups", "not_roles", "source", "facts", "terms", "topics")
FACT_KEY_PATTERN = SLUG_PATTERN


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ContentError(path, where, f"malformed YAML ({getattr(exc, 'problem', exc)})") from exc
    except UnicodeDecodeError as exc:
        raise ContentError(path, "", "is not UTF-8 text") from exc
    if data is None:
        return {}
    data = _mapping(data, path, "(top level)")
    unknown = sorted(set(data) - set(_TOP_LEVEL_KEYS))
    if unknown:
        expected = ", ".join(_TOP_LEVEL_KEYS)
        raise ContentError(path, unknown[0], f"unknown key (expected {expected})")
    return data


def _parse_role(raw: Any, path: Path, where: str) -> RoleSpec:
    data = _mapping(raw, path, where)
    slug = _require_str(data, "slug", path, where)
    if not SLUG_PATTERN.match(slug):
        raise ContentError(path, f"{where}.slug", f"'{slug}' must be lower-case words joined by -")
    return RoleSpec(
        slug=slug,
        title=_require_str(data, "title", path, where),
        plural=_require_str(data, "plural", path, where),
        summary=_require_str(data, "summary", path, where),
        summary_source=_require_str(data, "summary_source", path, where),
        names=_require_str_list(data, "names", path, where),
        path=str(path),
        key=where,
    )


def _parse_source(raw: Any, path: Path, root: Path) -> SourceSpec:
    data = _mapping(raw, path, "source")
    snapshot_name = _require_str(data, "snapshot", path, "source")
    snapshot = (root / snapshot_name).resolve()
    if not snapshot.is_file():
        raise ContentError(path, "source.snapshot", f"no such file: {snapshot_name}")
    not_facts = data.get("not_facts") or []
    if not isinstance(not_facts, list) or not all(isinstance(s, str) for s in not_facts):
        raise ContentError(path, "source.not_facts", "must be a list of sentences")
    source = SourceSpec(
        url=_require_str(data, "url", path, "source"),
        title=_require_str(data, "title", path, "source"),
        snapshot=snapshot,
        text=snapshot.read_text(encoding="utf-8"),
        not_facts=tuple(squash(s) for s in not_facts),
        path=str(path),
    )
    page = squash(source.text)
    for i, sentence in enumerate(source.not_facts):
        if sentence not in page:
            raise ContentError(path, f"source.not_facts[{i}]", "does not occur in the page")
    return source


def _parse_fact(raw: Any, path: Path, where: str, source: SourceSpec) -> FactSpec:
    data = _mapping(raw, path, where)
    topic = _require_topic(data, path, where)
    key = _require_str(data, "id", path, where)
    if not FACT_KEY_PATTERN.match(key):
        raise ContentError(path, f"{where}.id", f"'{key}' must be lower-case words joined by -")
    fact = FactSpec(
        topic=topic,
        roles=_require_str_list(data, "roles", path, where),
        text=_require_str(data, "text", path, where),
        quote=_require_str(data, "quote", path, where),
        source_url=source.url,
        path=str(path),
        key=key,
        asked_as=_require_str_list(data, "asked_as", path, where),
    )
    if fact.quote not in squash(source.text):
        raise ContentError(path, f"{where}.quote", "does not occur verbatim in the source page")
    invented = set(_NUMBERISH.findall(fact.text)) - set(_NUMBERISH.findall(fact.quote))
    if invented:
        raise ContentError(
            path, f"{where}.text", f"states {', '.join(sorted(invented))}, which the quote does not"
        )
    return fact


def _parse_terms(raw: Any, path: Path) -> list[TermSpec]:
    terms = []
    for where, data in _mappings(raw, path, "terms"):
        label = _require_str(data, "label", path, where)
        if not re.fullmatch(r"[a-z_]+", label):
            raise ContentError(path, f"{where}.label", "must be lower_case_words")
        terms += [TermSpec(label, n) for n in _require_str_list(data, "names", path, where)]
    return terms


def _parse_topics(raw: Any, path: Path) -> list[TopicSpec]:
    return [
        TopicSpec(
            _require_topic(data, path, where), _require_str_list(data, "asked_as", path, where)
        )
        for where, data in _mappings(raw, path, "topics")
    ]


def _parse_groups(raw: Any, path: Path) -> list[GroupSpec]:
    groups = []
    for where, data in _mappings(raw, path, "groups"):
        roles = _require_str_list(data, "roles", path, where)
        if len(roles) < 2:
            raise ContentError(path, f"{where}.roles", "a group names two roles or more")
        groups.append(GroupSpec(_require_str_list(data, "names", path, where), roles, str(path)))
    return groups


def _parse_not_roles(raw: Any, path: Path) -> list[str]:
    return list(_require_str_list({"not_roles": raw}, "not_roles", path, "(top level)"))


def read_content(directory: Path, root: Path = PROJECT_ROOT) -> Content:
    """Read and check every `*.yml` in `directory`; raise ContentError on the first problem.

    `root` is what source snapshot paths are relative to.
    """
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise ContentError(directory, "", "holds no .yml content files")

    roles: list[RoleSpec] = []
    sources: list[SourceSpec] = []
    raw_facts: list[tuple[Path, int, Any, SourceSpec | None]] = []
    terms: list[TermSpec] = []
    topics: list[TopicSpec] = []
    groups: list[GroupSpec] = []
    not_roles: list[str] = []
    for path in files:
        data = _read_yaml(path)
        terms += _parse_terms(data["terms"], path) if "terms" in data else []
        topics += _parse_topics(data["topics"], path) if "topics" in data else []
        groups += _parse_groups(data["groups"], path) if "groups" in data else []
        not_roles += _parse_not_roles(data["not_roles"], path) if "not_roles" in data else []
        source = _parse_source(data["source"], path, root) if "source" in data else None
        if source is not None:
            clash = next((s for s in sources if s.url == source.url), None)
            if clash is not None:
                raise ContentError(path, "source.url", f"already defined in {clash.path}")
            sources.append(source)
        raw_roles = data.get("roles") or []
        if not isinstance(raw_roles, list):
            raise ContentError(path, "roles", "must be a list")
        for i, raw in enumerate(raw_roles):
            role = _parse_role(raw, path, f"roles[{i}]")
            clash_role = next((r for r in roles if r.slug == role.slug), None)
            if clash_role is not None:
                raise ContentError(
                    path, f"roles[{i}].slug", f"duplicate slug '{role.slug}' ({clash_role.path})"
                )
            roles.append(role)
        raw_fact_list = data.get("facts") or []
        if not isinstance(raw_fact_list, list):
            raise ContentError(path, "facts", "must be a list")
        raw_facts.extend((path, i, raw, source) for i, raw in enumerate(raw_fact_list))

    slugs = {r.slug for r in roles}
    facts: list[FactSpec] = []
    keys: dict[str, str] = {}
    for path, i, raw, source in raw_facts:
        if source is None:
            raise ContentError(path, f"facts[{i}]", "fact without a source (add a source: block)")
        fact = _parse_fact(raw, path, f"facts[{i}]", source)
        for j, slug in enumerate(fact.roles):
            if slug not in slugs:
                raise ContentError(path, f"facts[{i}].roles[{j}]", f"unknown role '{slug}'")
        if fact.key in keys:
            raise ContentError(
                path, f"facts[{i}].id", f"duplicate id '{fact.key}' ({keys[fact.key]})"
            )
        keys[fact.key] = fact.path
        facts.append(fact)

    _check_roles(roles, sources, groups, not_roles)
    return Content(
        roles=tuple(roles),
        sources=tuple(sources),
        facts=tuple(facts),
        terms=tuple(terms),
        topics=tuple(topics),
        groups=tuple(groups),
        not_roles=tuple(not_roles),
    )


def _check_roles(
    roles: list[RoleSpec],
    sources: list[SourceSpec],
    groups: list[GroupSpec],
    not_roles: list[str],
) -> None:
    by_url = {s.url: s for s in sources}
    owners: dict[str, str] = {}
    for role in roles:
        source = by_url.get(role.summary_source)
        if source is None:
            raise ContentError(role.path, f"{role.key}.summary_source", "names no known source")
        if role.summary not in squash(source.text):
            raise ContentError(role.path, f"{role.key}.summary", "does not occur in its source")
        for name in (role.title, role.plural, *role.names):
            owner = owners.setdefault(normalise_name(name), role.slug)
            if owner != role.slug:
                raise ContentError(
                    role.path, f"{role.key}.names", f"'{name}' already names role '{owner}'"
                )
    slugs = {r.slug for r in roles}
    for group in groups:
        for slug in group.roles:
            if slug not in slugs:
                raise ContentError(group.path, "groups.roles", f"unknown role '{slug}'")
        for name in group.names:
            owner = owners.setdefault(normalise_name(name), "a group")
            if owner != "a group":
                raise ContentError(group.path, "groups.names", f"'{name}' already names {owner}")
    for name in not_roles:
        clash = owners.get(normalise_name(name))
        if clash is not None:
            raise ContentError("not_roles", name, f"is also a wording of {clash}")
