"""Schema changes for the conversation log's database, with Alembic.

The migrations own every table in that database: Rasa's `events` table (Rasa 3.6 only ever
creates it; the console adds an index to it, and a Rasa upgrade that changes it must show up
here as drift, not pass unnoticed), the log's index tables (bot.tracking.models), the review
console's tables (bot.review.models, bot.review.saved_tests) and the model registry's
(bot.registry.records). `create_all` never changes a table that exists, so each change is a
revision in versions/, and every process that opens the log (the Rasa server's tracker store,
the console, `python -m bot db upgrade`) brings it to head first.

The role store is not here: `python -m bot store load` rebuilds it from data/roles.

There is no alembic.ini: the configuration is built here, and the database is the settings'
TRACKER_STORE_URL opened by bot.db's engine factory.
"""

from __future__ import annotations

import logging
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Index, MetaData, func, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from bot.db import make_engine

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
# The PostgreSQL advisory lock held while migrating: Rasa instances starting together
# migrate one after the other (the second finds the database at head). Any fixed number.
ADVISORY_LOCK = 4_512_012
# How long an SQLite migration that found the file locked keeps trying (see `upgrade`).
SQLITE_RETRY_S = 60.0
# Tables of a database made by `create_all` before migrations existed.
OLD_TABLES = ("events", "log_conversations", "review_trainers")


def config(connection: Connection | None = None, out: TextIO | None = None) -> Config:
    """Alembic's configuration, built in code; env.py migrates through `connection`."""
    alembic_config = Config(stdout=out or sys.stdout)
    alembic_config.set_main_option("script_location", str(HERE))
    # versions/2026_11_30_1a2b3c4d5e6f_add_a_column.py: files sort by date.
    alembic_config.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"
    )
    alembic_config.attributes["connection"] = connection
    return alembic_config


def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty one or one made before migrations."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to `revision` (the revisions before and after), one process at a
    time. A database made by `create_all` before migrations has no version yet: the baseline
    keeps its tables and rows as they are and creates only the ones it lacks.

    SQLite can refuse a lock at once instead of waiting out its busy timeout (a connection
    whose snapshot another process has just written past gets SQLITE_BUSY without the busy
    handler being asked): that is retried, after a short wait, for up to SQLITE_RETRY_S."""
    deadline = time.monotonic() + SQLITE_RETRY_S
    while True:
        try:
            return _upgrade(engine, revision)
        except OperationalError as error:
            locked = engine.dialect.name == "sqlite" and "database is locked" in str(error)
            if not locked or time.monotonic() > deadline:
                raise
            logger.info("The conversation log is locked by another process; trying again.")
            time.sleep(0.1 + random.random() * 0.4)


def _upgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    if revision == "head":
        with engine.connect() as connection:
            at = current(connection)
        if at is not None and at == head():
            return at, at
    with migrating(engine) as connection:
        before = current(connection)
        if before is None and any(inspect(connection).has_table(t) for t in OLD_TABLES):
            logger.info("Adopting a conversation log made before migrations (no version yet).")
        command.upgrade(config(connection), revision)
        return before, current(connection)


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other process migrates in at the same time.

    PostgreSQL: an advisory lock, released when the transaction ends. SQLite: BEGIN IMMEDIATE
    (its driver would otherwise run DDL outside any transaction, so a failed migration would
    stay half done), with foreign keys off meanwhile: that is SQLite's own procedure for
    schema changes, since Alembic's batch mode rebuilds a table by dropping it, and with
    foreign keys on, dropping log_conversations would delete every message (ON DELETE
    CASCADE). The keys are checked before committing.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if sqlite:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                elif connection.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK)))
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def target_metadata() -> MetaData:
    """Every table the migrations own, as the code defines it today: what `drift` and
    `revision` compare a database with. (Imports Rasa: only autogenerate needs it.)"""
    from rasa.core.tracker_store import SQLTrackerStore

    from bot.registry import records
    from bot.review import models as review_models
    from bot.review import saved_tests
    from bot.tracking import models as log_models

    metadata = MetaData()
    bases = (SQLTrackerStore.Base, log_models.Base, review_models.Base, saved_tests.Base)
    for source in (*bases, records.Base):
        for table in source.metadata.sorted_tables:
            table.to_metadata(metadata)
    # Copied, so Rasa's own table object is left as Rasa defines it.
    events = metadata.tables["events"]
    Index(log_models.EVENTS_ACTION_INDEX, events.c.action_name, events.c.timestamp)
    return metadata


def owned(metadata: MetaData) -> Any:
    """An `include_name` hook: compare only our tables (a PostgreSQL database shared with the
    role store must not look like tables to drop)."""

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in metadata.tables

    return include_name


def drift(connection: Connection) -> list[Any]:
    """What differs between the database and the models (`alembic check`); empty when none."""
    metadata = target_metadata()
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": owned(metadata)}
    )
    differences: list[Any] = compare_metadata(context, metadata)
    return differences


def revision(message: str, *, empty: bool = False, out: TextIO | None = None) -> Path:
    """Write a new revision in versions/. Its operations are autogenerated (unless `empty`):
    what the models have that head lacks, found against a throw-away SQLite database
    upgraded to head, so the developer's own log does not matter. Read and edit it."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/head.db")
        try:
            upgrade(engine)
            with engine.connect() as connection:
                alembic_config = config(connection, out)
                alembic_config.attributes["target_metadata"] = None if empty else target_metadata()
                script = command.revision(alembic_config, message, autogenerate=not empty)
        finally:
            engine.dispose()
    assert script is not None and not isinstance(script, list)
    return Path(script.path)
