"""SQLAlchemy tables of the role store.

A fact belongs to a source page and applies to one or more roles (the page states most facts
for several roles at once), so a new role or a new page is new rows, never a new column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import declarative_base, relationship

# SQLAlchemy 1.4 has no typed declarative base; mypy sees Any rather than a bogus class.
Base: Any = declarative_base()


def _pairs_table(name: str, **columns: str) -> Table:
    """A many-to-many table: a column per side naming the row it points to, one row a pair,
    deleted with either side."""
    return Table(
        name,
        Base.metadata,
        *(
            Column(column, ForeignKey(target, ondelete="CASCADE"), primary_key=True)
            for column, target in columns.items()
        ),
    )


fact_roles = _pairs_table("fact_roles", fact_id="facts.id", role_id="roles.id")


class Source(Base):
    __tablename__ = "sources"

    id = Column(Integer, primary_key=True)
    url = Column(String(500), nullable=False, unique=True)
    title = Column(String(300), nullable=False)

    facts = relationship("Fact", back_populates="source")


class Role(Base):
    __tablename__ = "roles"

    id = Column(Integer, primary_key=True)
    slug = Column(String(100), nullable=False, unique=True)
    title = Column(String(200), nullable=False)
    plural = Column(String(200), nullable=False)
    summary = Column(Text, nullable=False)
    position = Column(Integer, nullable=False)

    names = relationship(
        "RoleName", back_populates="role", cascade="all, delete-orphan", order_by="RoleName.id"
    )
    facts = relationship("Fact", secondary=fact_roles, back_populates="roles")


class RoleName(Base):
    """A wording a user may type for a role, stored normalised for exact look-up."""

    __tablename__ = "role_names"
    __table_args__ = (UniqueConstraint("normalised"),)

    id = Column(Integer, primary_key=True)
    role_id = Column(ForeignKey("roles.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(200), nullable=False)
    normalised = Column(String(200), nullable=False)

    role = relationship("Role", back_populates="names")


class Fact(Base):
    __tablename__ = "facts"

    id = Column(Integer, primary_key=True)
    key = Column(String(100), nullable=False, unique=True)
    topic = Column(String(50), nullable=False, index=True)
    text = Column(Text, nullable=False)
    quote = Column(Text, nullable=False)
    # How job seekers ask about this fact, one wording a line: read by the retrieval step.
    asked_as = Column(Text, nullable=False, default="")
    position = Column(Integer, nullable=False)
    source_id = Column(ForeignKey("sources.id"), nullable=False)

    source = relationship("Source", back_populates="facts")
    roles = relationship("Role", secondary=fact_roles, back_populates="facts")


group_name_roles = _pairs_table(
    "group_name_roles", group_name_id="group_names.id", role_id="roles.id"
)


class GroupName(Base):
    """A wording that means several roles at once ("support roles")."""

    __tablename__ = "group_names"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    normalised = Column(String(200), nullable=False, unique=True)

    roles = relationship("Role", secondary=group_name_roles, order_by="Role.position")


class NotRoleName(Base):
    """A wording of a different job ("radiologist assistant") that must never match a role."""

    __tablename__ = "not_role_names"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    normalised = Column(String(200), nullable=False, unique=True)


class TopicPhrase(Base):
    """How people ask about a whole topic, for the retrieval step."""

    __tablename__ = "topic_phrases"

    id = Column(Integer, primary_key=True)
    topic = Column(String(50), nullable=False)
    text = Column(Text, nullable=False)


class Term(Base):
    """A word users type for something other than a role (GCSE, NVQ), by entity label."""

    __tablename__ = "terms"
    __table_args__ = (UniqueConstraint("label", "name"),)

    id = Column(Integer, primary_key=True)
    label = Column(String(50), nullable=False)
    name = Column(String(200), nullable=False)


class StoreVersion(Base):
    """One row, rewritten by every load: readers that keep the content in memory compare it
    to know when to read again."""

    __tablename__ = "store_version"

    id = Column(Integer, primary_key=True)
    version = Column(String(32), nullable=False)
