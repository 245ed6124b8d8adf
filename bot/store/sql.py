"""The SQLAlchemy implementation of the role store: loading content and answering questions.

Each method opens a short session of its own and returns plain frozen records, so callers
never hold a session or touch the ORM.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.db import make_engine
from bot.store.api import Comparison, FactInfo, RoleInfo, SourceInfo, StoreUnavailable
from bot.store.content import Content, normalise_name
from bot.store.models import TOPICS, Base, Fact, Role, RoleName, Source, Term, fact_roles

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
        Base.metadata.create_all(self.engine)
        with Session(self.engine, future=True) as session, session.begin():
            for table in (
                fact_roles,
                RoleName.__table__,
                Fact.__table__,
                Role.__table__,
                Term.__table__,
            ):
                session.execute(delete(table))
            session.execute(delete(Source.__table__))
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
            session.add_all([*sources.values(), *roles.values(), *facts, *terms])
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
        """The role a user's wording means ("APs", "imaging support worker"), or None."""
        with self._session() as session:
            slug = _match_name(normalise_name(text), self._known_names(session))
            return self._role_by_slug(session, slug) if slug else None

    def find_roles(self, text: str, max_words: int = 4) -> list[RoleInfo]:
        """Roles named anywhere in a message, typos allowed, in the order they appear."""
        words = normalise_name(text).split()[:200]
        slugs: list[str] = []
        with self._session() as session:
            known = self._known_names(session)
            start = 0
            while start < len(words):
                for size in range(min(max_words, len(words) - start), 0, -1):
                    slug = _match_name(" ".join(words[start : start + size]), known)
                    if slug:
                        slugs += [] if slug in slugs else [slug]
                        start += size
                        break
                else:
                    start += 1
            return [self._role_by_slug(session, slug) for slug in slugs]

    @staticmethod
    def _known_names(session: Session) -> dict[str, str]:
        pairs = session.execute(select(RoleName.normalised, Role.slug).join(Role)).all()
        return {name: slug for name, slug in pairs}

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

    @staticmethod
    def _role_by_slug(session: Session, slug: str) -> RoleInfo:
        return _role_info(session.execute(select(Role).where(Role.slug == slug)).scalar_one())


def _storable(text: str) -> bool:
    """Whether a database can take `text` as a query parameter: PostgreSQL refuses a NUL,
    and half a surrogate pair is not UTF-8. No slug contains either."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _match_name(wanted: str, known: dict[str, str]) -> str | None:
    """The slug whose wording `wanted` (normalised) is, allowing an article and small typos."""
    if not wanted:
        return None
    candidates = [wanted] + [wanted[len(a) :] for a in _ARTICLES if wanted.startswith(a)]
    for candidate in candidates:
        if candidate in known:
            return known[candidate]
    long_names = [n for n in known if len(n) >= _FUZZY_MIN_LENGTH]
    for candidate in candidates:
        if _FUZZY_MIN_LENGTH <= len(candidate) <= _FUZZY_MAX_LENGTH:
            close = difflib.get_close_matches(candidate, long_names, n=1, cutoff=_FUZZY_CUTOFF)
            if close:
                return known[close[0]]
    return None


def _role_info(row: Role) -> RoleInfo:
    return RoleInfo(slug=row.slug, title=row.title, plural=row.plural, summary=row.summary)


def _fact_info(row: Fact) -> FactInfo:
    return FactInfo(
        topic=row.topic,
        text=row.text,
        quote=row.quote,
        source_url=row.source.url,
        source_title=row.source.title,
        roles=tuple(sorted(r.slug for r in row.roles)),
    )
