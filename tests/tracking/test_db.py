"""The one engine factory (bot.db): every store survives a PostgreSQL restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db import make_engine
from bot.prod.processes import PostgreSQL, free_port, throwaway_postgres
from bot.review import conversations_page
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.store import Content, SqlRoleStore
from bot.tracking.store import MaskingTrackerStore
from tests.support.tracking import answer, converse, domain, user


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[PostgreSQL]:
    """A PostgreSQL of this test's own, to restart (the session's server is shared)."""
    with throwaway_postgres(free_port(), tmp_path / "logs") as server:
        yield server


async def test_each_store_answers_the_first_call_after_a_postgresql_restart(
    postgres: PostgreSQL, content: Content
) -> None:
    roles = SqlRoleStore(postgres.url)
    roles.load(content)
    log = MaskingTrackerStore(domain=domain(), host=postgres.url)
    console = ConversationLog(make_engine(postgres.url))
    turn = [user("what does an AP do", "ask_duties", 0.97), *answer()]
    # Every engine holds a pooled connection when the server goes away.
    await converse(log, "before", [turn])
    assert roles.roles()
    assert conversations_page.conversations(console, Filters()).total == 1

    postgres.service.stop()
    postgres.service.start()

    await converse(log, "after", [turn])  # stock Rasa: OperationalError, the user's apology
    assert await log.retrieve("before") is not None
    assert roles.roles()
    assert conversations_page.conversations(console, Filters()).total == 2
    for engine in (roles.engine, log.engine, console.engine):
        engine.dispose()


def test_sqlite_gets_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_postgresql_sessions_are_in_utc(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW TIME ZONE")).scalar() == "UTC"
    engine.dispose()


def test_sql_errors_do_not_show_the_values(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(Exception) as error, engine.connect() as connection:
        connection.execute(text("SELECT * FROM missing WHERE a = :a"), {"a": "+447700900123"})
    assert "+447700900123" not in str(error.value)
    engine.dispose()
