"""What the rest of the project may ask the role store: records, the interface, its errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or has not been loaded; callers apologise to the user."""


@dataclass(frozen=True)
class RoleInfo:
    slug: str
    title: str
    plural: str
    summary: str


@dataclass(frozen=True)
class SourceInfo:
    url: str
    title: str


@dataclass(frozen=True)
class FactInfo:
    topic: str
    text: str
    quote: str
    source_url: str
    source_title: str
    roles: tuple[str, ...]
    key: str = ""
    asked_as: tuple[str, ...] = ()

    @property
    def source(self) -> SourceInfo:
        return SourceInfo(self.source_url, self.source_title)


@dataclass(frozen=True)
class Comparison:
    first: RoleInfo
    second: RoleInfo
    shared: tuple[FactInfo, ...]
    only_first: tuple[FactInfo, ...]
    only_second: tuple[FactInfo, ...]


class RoleStore(Protocol):
    """Intent-level questions the actions ask; they never build queries themselves."""

    def version(self) -> str: ...

    def roles(self) -> list[RoleInfo]: ...

    def sources(self) -> list[SourceInfo]: ...

    def role(self, slug: str) -> RoleInfo | None: ...

    def role_names(self) -> dict[str, list[str]]: ...

    def terms(self) -> dict[str, list[str]]: ...

    def resolve_role(self, text: str) -> RoleInfo | None: ...

    def find_roles(self, text: str) -> list[RoleInfo]: ...

    def resolve_roles(self, text: str) -> list[RoleInfo]: ...

    def not_role_named(self, text: str) -> str | None: ...

    def group_names(self) -> dict[str, list[str]]: ...

    def facts(self, role: str, topic: str) -> list[FactInfo]: ...

    def all_facts(self) -> list[FactInfo]: ...

    def topic_phrases(self) -> dict[str, list[str]]: ...

    def compare(self, first: str, second: str) -> Comparison: ...
