"""The one engine factory's SQLite pragmas, the one clock (bot.db.now) and the one conversion
to what a DateTime column holds."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_POOL_SIZE, as_stored, make_engine, now, utcnow
from bot.tracking.indexer import utc

LONDON_SUMMER = timezone(timedelta(hours=1))


def test_now_is_aware_utc_and_the_current_moment() -> None:
    before = datetime.now(timezone.utc)
    moment = now()
    after = datetime.now(timezone.utc)
    assert moment.utcoffset() == timedelta(0)
    assert before <= moment <= after


def test_a_stored_moment_is_naive_utc_whatever_zone_it_came_in() -> None:
    assert as_stored(datetime(2026, 6, 1, 10, 0, tzinfo=LONDON_SUMMER)) == datetime(2026, 6, 1, 9)
    assert as_stored(datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)) == datetime(2026, 6, 1, 10)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        as_stored(datetime(2026, 6, 1, 10, 0))


def test_rows_written_now_mean_what_earlier_rows_meant() -> None:
    """The earlier code stored datetime.now(timezone.utc) without its zone: so does utcnow."""
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    stored = utcnow()
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert stored.tzinfo is None
    assert before <= stored <= after


def test_a_rasa_timestamp_is_stored_as_its_utc_moment() -> None:
    assert utc(1_700_000_000.0) == datetime(2023, 11, 14, 22, 13, 20)
    before = utcnow()
    assert before <= utc(None) <= utcnow()


def test_a_sqlite_file_is_opened_with_the_projects_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_a_sqlite_file_keeps_its_connections_for_any_thread(tmp_path: Path) -> None:
    """Pooled, not opened per session: closing SQLite's last connection checkpoints the WAL."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pooled.db'}")
    with engine.connect() as connection:
        first = connection.connection.dbapi_connection
    with engine.connect() as connection:
        assert connection.connection.dbapi_connection is first

    def in_a_thread() -> object:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            return connection.connection.dbapi_connection

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(in_a_thread).result() is first
    engine.dispose()


def test_a_sqlite_file_keeps_a_connection_per_worker_thread_and_no_ping(tmp_path: Path) -> None:
    """asyncio's default executor runs up to cpu_count + 4 saves at once: each keeps its
    connection (one made beyond the pool was set up and closed every time)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pooled.db'}")
    try:
        assert engine.pool.size() == SQLITE_POOL_SIZE == min(32, (os.cpu_count() or 1) + 4)
        assert not engine.pool._pre_ping
        connections = [engine.connect() for _ in range(SQLITE_POOL_SIZE)]
        raw = {id(c.connection.dbapi_connection) for c in connections}
        for connection in connections:
            connection.close()
        again = [engine.connect() for _ in range(SQLITE_POOL_SIZE)]
        assert {id(c.connection.dbapi_connection) for c in again} == raw
        for connection in again:
            connection.close()
    finally:
        engine.dispose()
