"""The conversation log's database as the review console and the model registry use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import migrations


class LogDatabase:
    """An engine, one session (and transaction) per call, and the schema brought to head on
    request. Kept apart from the tracker store, so a command that only reads the registry
    does not load Rasa."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, future=True, expire_on_commit=False)

    def create_tables(self) -> None:
        """Bring the database to the latest schema (bot.migrations), every table's owner's
        included; processes starting together take turns."""
        migrations.upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session
