"""The SQLAlchemy implementation of the role store: loading content and answering questions.

Each method opens a short session of its own and returns plain frozen records, so callers
never hold a session or touch the ORM.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.db import make_engine
from bot.store.api import Comparison, FactInfo, RoleInfo, SourceInfo, StoreUnavailable
from bot.store.content import Content, normalise_name
from bot.store.models import (
    TOPICS,
    Base,
    Fact,
    GroupName,
    NotRoleName,
    Role,
    RoleName,
    Source,
    Term,
    TopicPhrase,
)

# Fuzzy matching is only tried for names this long: "ap" must not match "a".
_FUZZY_MIN_LENGTH = 6
_FUZZY_CUTOFF = 0.85
_FUZZY_MAX_LENGTH = 80
_ARTICLES = ("a ", "an ", "the ")


class SqlRoleStore:
    """Role facts in any SQLAlchemy database (SQLite by default, PostgreSQL when configured)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        if url is None and engine is None:
            raise ValueError("SqlRoleStore needs a database URL or an engine")
        self._url = url
        self._engine = engine
        self._sessions: sessionmaker[Session] | None = None

    @classmethod
    def in_memory(cls) -> SqlRoleStore:
        """An empty store in one shared in-memory SQLite connection, for tests."""
        engine = create_engine(
            "sqlite://",
            future=True,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool,
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
        with self.engine.begin() as connection:
            Base.metadata.drop_all(connection)
            Base.metadata.create_all(connection)
            with Session(bind=connection, future=True) as session:
                counts = self._fill(session, content)
                session.flush()
        return counts

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

    def roles(self) -> list[RoleInfo]:
        with self._session() as session:
            rows = session.execute(select(Role).order_by(Role.position)).scalars()
            return [_role_info(r) for r in rows]

    def sources(self) -> list[SourceInfo]:
        with self._session() as session:
            rows = session.execute(select(Source).order_by(Source.id)).scalars()
            return [SourceInfo(url=r.url, title=r.title) for r in rows]

    def role(self, slug: str) -> RoleInfo | None:
        if not _storable(slug):
            return None
        with self._session() as session:
            row = session.execute(select(Role).where(Role.slug == slug)).scalar_one_or_none()
            return _role_info(row) if row is not None else None

    def role_names(self) -> dict[str, list[str]]:
        """Every wording of every role, by slug: what the entity ruler is built from."""
        with self._session() as session:
            rows = session.execute(
                select(Role).options(selectinload(Role.names)).order_by(Role.position)
            ).scalars()
            return {r.slug: [n.name for n in r.names] for r in rows}

    def terms(self) -> dict[str, list[str]]:
        """Other words the entity ruler marks (GCSE, NVQ, ...), by entity label."""
        with self._session() as session:
            rows = session.execute(select(Term.label, Term.name).order_by(Term.id)).all()
        terms: dict[str, list[str]] = {}
        for label, name in rows:
            terms.setdefault(label, []).append(name)
        return terms

    def resolve_role(self, text: str) -> RoleInfo | None:
        """The one role a user's wording means ("APs", "imaging support worker"), or None."""
        found = self.resolve_roles(text)
        return found[0] if len(found) == 1 else None

    def resolve_roles(self, text: str) -> list[RoleInfo]:
        """The roles a wording means: one for a role's name, several for a group's."""
        with self._session() as session:
            names = self._names(session)
            return self._roles_by_slug(session, _match_name(normalise_name(text), *names) or ())

    def find_roles(self, text: str, max_words: int = 4) -> list[RoleInfo]:
        """Roles named anywhere in a message, typos allowed, in the order they appear."""
        with self._session() as session:
            known, blocked = self._names(session)
            slugs: list[str] = []
            for _, match in _scan(text, known, blocked, max_words):
                slugs += [slug for slug in match if slug not in slugs]
            return self._roles_by_slug(session, slugs)

    def not_role_named(self, text: str, max_words: int = 4) -> str | None:
        """A wording of a job the page does not describe ("radiologist assistant"), if named."""
        with self._session() as session:
            known, blocked = self._names(session)
            for words, match in _scan(text, known, blocked, max_words):
                if not match:
                    return difflib.get_close_matches(words, blocked, n=1, cutoff=0)[0]
        return None

    def group_names(self) -> dict[str, list[str]]:
        """Wordings that mean several roles, with their slugs: the entity ruler marks them."""
        with self._session() as session:
            rows = session.execute(
                select(GroupName).options(selectinload(GroupName.roles)).order_by(GroupName.id)
            ).scalars()
            return {g.name: [r.slug for r in g.roles] for g in rows}

    @staticmethod
    def _names(session: Session) -> tuple[dict[str, tuple[str, ...]], set[str]]:
        """Every normalised wording with the slugs it means, and the blocked wordings."""
        known: dict[str, tuple[str, ...]] = {}
        for name, slug in session.execute(select(RoleName.normalised, Role.slug).join(Role)):
            known[name] = (slug,)
        groups = session.execute(select(GroupName).options(selectinload(GroupName.roles))).scalars()
        for group in groups:
            known[group.normalised] = tuple(r.slug for r in group.roles)
        blocked = set(session.execute(select(NotRoleName.normalised)).scalars())
        return known, blocked

    @staticmethod
    def _roles_by_slug(session: Session, slugs: Sequence[str]) -> list[RoleInfo]:
        rows = session.execute(select(Role).where(Role.slug.in_(list(slugs)))).scalars()
        by_slug = {r.slug: _role_info(r) for r in rows}
        return [by_slug[s] for s in slugs if s in by_slug]

    def facts(self, role: str, topic: str) -> list[FactInfo]:
        """What the page says about `topic` for the role with slug `role`, in page order."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic '{topic}' (expected one of {', '.join(TOPICS)})")
        if not _storable(role):
            return []
        with self._session() as session:
            rows = session.execute(
                select(Fact)
                .join(Fact.roles)
                .where(Role.slug == role, Fact.topic == topic)
                .options(selectinload(Fact.roles), selectinload(Fact.source))
                .order_by(Fact.position)
            ).scalars()
            return [_fact_info(f) for f in rows]

    def all_facts(self) -> list[FactInfo]:
        """Every fact in page order: what the retrieval step ranks."""
        with self._session() as session:
            rows = session.execute(
                select(Fact)
                .options(selectinload(Fact.roles), selectinload(Fact.source))
                .order_by(Fact.position)
            ).scalars()
            return [_fact_info(f) for f in rows]

    def topic_phrases(self) -> dict[str, list[str]]:
        """How people ask about each whole topic, by topic."""
        with self._session() as session:
            rows = session.execute(
                select(TopicPhrase.topic, TopicPhrase.text).order_by(TopicPhrase.id)
            ).all()
        phrases: dict[str, list[str]] = {}
        for topic, text in rows:
            phrases.setdefault(topic, []).append(text)
        return phrases

    def compare(self, first: str, second: str) -> Comparison:
        """What the page says of one role and not the other, and what it says of both."""
        a, b = self.role(first), self.role(second)
        if a is None or b is None:
            raise ValueError(f"unknown role '{first if a is None else second}'")
        with self._session() as session:
            rows = session.execute(
                select(Fact)
                .join(Fact.roles)
                .where(Role.slug.in_([first, second]))
                .options(selectinload(Fact.roles), selectinload(Fact.source))
                .order_by(Fact.position)
            ).scalars()
            facts = [_fact_info(f) for f in dict.fromkeys(rows)]
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
        with self._session() as session:
            rows = session.execute(select(Role.slug, Fact.topic).join(Fact.roles)).all()
        for slug, topic in rows:
            counts.setdefault(slug, dict.fromkeys(TOPICS, 0))[topic] += 1
        return counts


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
    long_names = [n for n in (*known, *blocked) if len(n) >= _FUZZY_MIN_LENGTH]
    for candidate in candidates:
        if _FUZZY_MIN_LENGTH <= len(candidate) <= _FUZZY_MAX_LENGTH:
            close = difflib.get_close_matches(candidate, long_names, n=1, cutoff=_FUZZY_CUTOFF)
            if close:
                return () if close[0] in blocked else known[close[0]]
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
