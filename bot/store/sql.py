"""The SQLAlchemy implementation of the role store: loading content and answering questions.

Each method opens a short session of its own and returns plain frozen records, so callers
never hold a session or touch the ORM.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.db import make_engine
from bot.store.api import Comparison, FactInfo, RoleInfo, SourceInfo, StoreUnavailable
from bot.store.content import Content, closest, normalise_name
from bot.store.models import (
    Base,
    Fact,
    GroupName,
    NotRoleName,
    Role,
    RoleName,
    Source,
    StoreVersion,
    Term,
    TopicPhrase,
)
from bot.store.topics import TOPICS, require_topic

# Fuzzy matching is only tried for names this long: "ap" must not match "a".
_FUZZY_MIN_LENGTH = 6
_FUZZY_CUTOFF = 0.85
_FUZZY_MAX_LENGTH = 80
_ARTICLES = ("a ", "an ", "the ")


logger = logging.getLogger(__name__)
# How often a reader checks whether the store was loaded again (a cheap one-row query).
REFRESH_SECONDS = 2.0


class SqlRoleStore:
    """Role facts in any SQLAlchemy database (SQLite by default, PostgreSQL when configured)."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: Engine | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        if url is None and engine is None:
            raise ValueError("SqlRoleStore needs a database URL or an engine")
        self._url = url
        self._engine = engine
        self._sessions: sessionmaker[Session] | None = None
        self.refresh_seconds = refresh_seconds
        self._snapshot: _Snapshot | None = None
        self._checked = 0.0

    @classmethod
    def in_memory(cls) -> SqlRoleStore:
        """An empty store in one shared in-memory SQLite connection, for tests."""
        engine = make_engine(
            "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
        return cls(engine=engine)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            assert self._url is not None
            self._engine = make_engine(self._url)
        return self._engine

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if self._sessions is None:
            self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)
        try:
            with self._sessions() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreUnavailable(
                f"the role store cannot be read ({exc.__class__.__name__}); "
                "has `python -m bot store load` been run?"
            ) from exc

    # --- writing -----------------------------------------------------------------------

    def load(self, content: Content) -> dict[str, int]:
        """Replace everything in the store with `content`, in one transaction."""
        # The store is derived from data/roles, so a changed schema is simply rebuilt; readers
        # see the old content until the transaction commits (SQLite and PostgreSQL both run
        # DDL inside transactions).
        with self._loading(), self.engine.begin() as connection:
            Base.metadata.drop_all(connection)
            Base.metadata.create_all(connection)
            with Session(bind=connection, future=True) as session:
                counts = self._fill(session, content)
                session.add(StoreVersion(id=1, version=content_version(content)))
                session.flush()
        self._snapshot = None
        return counts

    def holds(self, content: Content) -> bool:
        """Whether the store was loaded with exactly `content`, by this code's schema."""
        try:
            with self._session() as session:
                stored = session.execute(select(StoreVersion.version)).scalar_one_or_none()
        except StoreUnavailable:
            return False  # no store yet, or one made by an older schema
        return stored == content_version(content)

    @contextmanager
    def _loading(self) -> Iterator[None]:
        """One load at a time per SQLite file: its driver runs DDL outside the transaction, so
        two loads at once (`make run` while `make test` starts) would trip over each other's
        tables. PostgreSQL's transactional DDL needs no lock."""
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.load-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @staticmethod
    def _fill(session: Session, content: Content) -> dict[str, int]:
        sources = {s.url: Source(url=s.url, title=s.title) for s in content.sources}
        roles = {}
        for position, spec in enumerate(content.roles):
            names = {normalise_name(n): n for n in (spec.title, spec.plural, *spec.names)}
            roles[spec.slug] = Role(
                slug=spec.slug,
                title=spec.title,
                plural=spec.plural,
                summary=spec.summary,
                position=position,
                names=[RoleName(name=n, normalised=k) for k, n in names.items()],
            )
        facts = [
            Fact(
                key=spec.key or f"fact-{position}",
                asked_as="\n".join(spec.asked_as),
                topic=spec.topic,
                text=spec.text,
                quote=spec.quote,
                position=position,
                source=sources[spec.source_url],
                roles=[roles[slug] for slug in spec.roles],
            )
            for position, spec in enumerate(content.facts)
        ]
        terms = [Term(label=t.label, name=t.name) for t in dict.fromkeys(content.terms)]
        groups = [
            GroupName(name=n, normalised=normalise_name(n), roles=[roles[r] for r in g.roles])
            for g in content.groups
            for n in g.names
        ]
        blocked = {normalise_name(n): n for n in content.not_roles}
        not_roles = [NotRoleName(name=n, normalised=k) for k, n in blocked.items()]
        phrases = [TopicPhrase(topic=t.topic, text=x) for t in content.topics for x in t.asked_as]
        session.add_all(
            [
                *sources.values(),
                *roles.values(),
                *facts,
                *terms,
                *groups,
                *not_roles,
                *phrases,
            ]
        )
        return {"sources": len(sources), "roles": len(roles), "facts": len(facts)}

    # --- reading -----------------------------------------------------------------------

    def version(self) -> str:
        """Changes when the content or the schema does: what a cache of anything built from
        the store keys on."""
        return self._current().version

    def roles(self) -> list[RoleInfo]:
        return list(self._current().roles)

    def sources(self) -> list[SourceInfo]:
        return list(self._current().sources)

    def role(self, slug: str) -> RoleInfo | None:
        return next((r for r in self._current().roles if r.slug == slug), None)

    def role_names(self) -> dict[str, list[str]]:
        """Every wording of every role, by slug: what the entity ruler is built from."""
        return {slug: list(names) for slug, names in self._current().role_names.items()}

    def terms(self) -> dict[str, list[str]]:
        """Other words the entity ruler marks (GCSE, NVQ, ...), by entity label."""
        return {label: list(names) for label, names in self._current().terms.items()}

    def resolve_role(self, text: str) -> RoleInfo | None:
        """The one role a user's wording means ("APs", "imaging support worker"), or None."""
        found = self.resolve_roles(text)
        return found[0] if len(found) == 1 else None

    def resolve_roles(self, text: str) -> list[RoleInfo]:
        """The roles a wording means: one for a role's name, several for a group's."""
        snapshot = self._current()
        slugs = _match_name(normalise_name(text), snapshot.known, snapshot.blocked) or ()
        return snapshot.by_slugs(slugs)

    def find_roles(self, text: str, max_words: int = 4) -> list[RoleInfo]:
        """Roles named anywhere in a message, typos allowed, in the order they appear."""
        snapshot = self._current()
        slugs: list[str] = []
        for _, match in _scan(text, snapshot.known, snapshot.blocked, max_words):
            slugs += [slug for slug in match if slug not in slugs]
        return snapshot.by_slugs(slugs)

    def not_role_named(self, text: str, max_words: int = 4) -> str | None:
        """A wording of a job the page does not describe ("radiologist assistant"), if named."""
        snapshot = self._current()
        for words, match in _scan(text, snapshot.known, snapshot.blocked, max_words):
            if not match:
                return difflib.get_close_matches(words, snapshot.blocked, n=1, cutoff=0)[0]
        return None

    def group_names(self) -> dict[str, list[str]]:
        """Wordings that mean several roles, with their slugs: the entity ruler marks them."""
        return {name: list(slugs) for name, slugs in self._current().groups.items()}

    def facts(self, role: str, topic: str) -> list[FactInfo]:
        """What the page says about `topic` for the role with slug `role`, in page order."""
        require_topic(topic)
        return [f for f in self._current().facts if f.topic == topic and role in f.roles]

    def all_facts(self) -> list[FactInfo]:
        """Every fact in page order: what the retrieval step ranks."""
        return list(self._current().facts)

    def topic_phrases(self) -> dict[str, list[str]]:
        """How people ask about each whole topic, by topic."""
        return {topic: list(p) for topic, p in self._current().topic_phrases.items()}

    def compare(self, first: str, second: str) -> Comparison:
        """What the page says of one role and not the other, and what it says of both."""
        a, b = self.role(first), self.role(second)
        if a is None or b is None:
            raise ValueError(f"unknown role '{first if a is None else second}'")
        facts = [f for f in self._current().facts if {first, second} & set(f.roles)]
        return Comparison(
            first=a,
            second=b,
            shared=tuple(f for f in facts if {first, second} <= set(f.roles)),
            only_first=tuple(f for f in facts if first in f.roles and second not in f.roles),
            only_second=tuple(f for f in facts if second in f.roles and first not in f.roles),
        )

    def fact_counts(self) -> dict[str, dict[str, int]]:
        """How many facts each role has per topic, for content editors."""
        counts: dict[str, dict[str, int]] = {}
        for fact in self._current().facts:
            for slug in fact.roles:
                counts.setdefault(slug, dict.fromkeys(TOPICS, 0))[fact.topic] += 1
        return {r.slug: counts[r.slug] for r in self._current().roles if r.slug in counts}

    # --- the in-memory copy ---------------------------------------------------------------

    def _current(self) -> _Snapshot:
        """The store's content, read once and again only when a load has changed it.

        Every answer reads the store many times; a version row written by `load` is checked at
        most every `refresh_seconds`, so readers (the action server) see a new load within that
        time and otherwise never wait for the database. If the database cannot be reached after
        a first read, the last content is served and the check retried next time.
        """
        snapshot = self._snapshot
        now = time.monotonic()
        if snapshot is not None and now - self._checked < self.refresh_seconds:
            return snapshot
        try:
            with self._session() as session:
                version = session.execute(select(StoreVersion.version)).scalar_one_or_none()
                if version is None:
                    raise StoreUnavailable("the role store has not been loaded")
                if snapshot is None or snapshot.version != version:
                    snapshot = _read_snapshot(session, version)
        except StoreUnavailable:
            if snapshot is None:
                raise
            logger.warning("the role store cannot be read; answering from its last content")
        self._snapshot, self._checked = snapshot, now
        return snapshot


@dataclass(frozen=True)
class _Snapshot:
    version: str
    roles: tuple[RoleInfo, ...]
    sources: tuple[SourceInfo, ...]
    facts: tuple[FactInfo, ...]
    role_names: dict[str, tuple[str, ...]]
    groups: dict[str, tuple[str, ...]]
    terms: dict[str, tuple[str, ...]]
    topic_phrases: dict[str, tuple[str, ...]]
    # normalised wording -> the slugs it means; wordings of other jobs
    known: dict[str, tuple[str, ...]]
    blocked: set[str]

    def by_slugs(self, slugs: Sequence[str]) -> list[RoleInfo]:
        by_slug = {r.slug: r for r in self.roles}
        return [by_slug[s] for s in slugs if s in by_slug]


def content_version(content: Content) -> str:
    """A digest of the content and of the tables it is stored in: equal digests, equal store."""
    digest = hashlib.sha256(repr(content).encode())
    for table in Base.metadata.sorted_tables:
        digest.update(repr([(c.name, str(c.type), c.nullable) for c in table.columns]).encode())
        digest.update(table.name.encode())
    return digest.hexdigest()[:32]


def _read_snapshot(session: Session, version: str) -> _Snapshot:
    roles = (
        session.execute(select(Role).options(selectinload(Role.names)).order_by(Role.position))
        .scalars()
        .all()
    )
    facts = session.execute(
        select(Fact)
        .options(selectinload(Fact.roles), selectinload(Fact.source))
        .order_by(Fact.position)
    ).scalars()
    groups = (
        session.execute(
            select(GroupName).options(selectinload(GroupName.roles)).order_by(GroupName.id)
        )
        .scalars()
        .all()
    )
    terms: dict[str, tuple[str, ...]] = {}
    for label, name in session.execute(select(Term.label, Term.name).order_by(Term.id)):
        terms[label] = (*terms.get(label, ()), name)
    phrases: dict[str, tuple[str, ...]] = {}
    for topic, text in session.execute(
        select(TopicPhrase.topic, TopicPhrase.text).order_by(TopicPhrase.id)
    ):
        phrases[topic] = (*phrases.get(topic, ()), text)
    known: dict[str, tuple[str, ...]] = {n.normalised: (r.slug,) for r in roles for n in r.names}
    known.update({g.normalised: tuple(r.slug for r in g.roles) for g in groups})
    return _Snapshot(
        version=version,
        roles=tuple(_role_info(r) for r in roles),
        sources=tuple(
            SourceInfo(url=r.url, title=r.title)
            for r in session.execute(select(Source).order_by(Source.id)).scalars()
        ),
        facts=tuple(_fact_info(f) for f in facts),
        role_names={r.slug: tuple(n.name for n in r.names) for r in roles},
        groups={g.name: tuple(r.slug for r in g.roles) for g in groups},
        terms=terms,
        topic_phrases=phrases,
        known=known,
        blocked=set(session.execute(select(NotRoleName.normalised)).scalars()),
    )


def _storable(text: str) -> bool:
    """Whether a database can take `text` as a query parameter: PostgreSQL refuses a NUL,
    and half a surrogate pair is not UTF-8. No slug contains either."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _match_name(
    wanted: str, known: dict[str, tuple[str, ...]], blocked: set[str]
) -> tuple[str, ...] | None:
    """The slugs the wording `wanted` (normalised) means, allowing an article and small typos.

    None when it names nothing; () when it names a job the page does not describe, which wins
    over a role it is merely close to ("radiologist assistant" is not "radiology assistant").
    """
    if not wanted:
        return None
    candidates = [wanted] + [wanted[len(a) :] for a in _ARTICLES if wanted.startswith(a)]
    for candidate in candidates:
        if candidate in blocked:
            return ()
        if candidate in known:
            return known[candidate]
    long_names = frozenset(n for n in (*known, *blocked) if len(n) >= _FUZZY_MIN_LENGTH)
    for candidate in candidates:
        if _FUZZY_MIN_LENGTH <= len(candidate) <= _FUZZY_MAX_LENGTH:
            close = closest(candidate, long_names, _FUZZY_CUTOFF)
            if close is not None:
                return () if close in blocked else known[close]
    return None


def _scan(
    text: str, known: dict[str, tuple[str, ...]], blocked: set[str], max_words: int
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each wording in `text` that names roles (or a blocked job), longest first, in order."""
    words = normalise_name(text).split()[:200]
    start = 0
    while start < len(words):
        for size in range(min(max_words, len(words) - start), 0, -1):
            phrase = " ".join(words[start : start + size])
            match = _match_name(phrase, known, blocked)
            if match is not None:
                yield phrase, match
                start += size
                break
        else:
            start += 1


def _role_info(row: Role) -> RoleInfo:
    return RoleInfo(slug=row.slug, title=row.title, plural=row.plural, summary=row.summary)


def _fact_info(row: Fact) -> FactInfo:
    return FactInfo(
        key=row.key,
        asked_as=tuple(line for line in row.asked_as.splitlines() if line),
        topic=row.topic,
        text=row.text,
        quote=row.quote,
        source_url=row.source.url,
        source_title=row.source.title,
        roles=tuple(sorted(r.slug for r in row.roles)),
    )
