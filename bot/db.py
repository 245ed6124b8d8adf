"""The one engine factory: every database of the project is opened with `make_engine`.

The role store, the conversation log (Rasa's tracker store), the review console and the
benchmarks all connect through here, so each gets the same treatment:

- pool pre-ping: a pooled connection is checked before use, so the first query after a
  PostgreSQL restart reconnects instead of failing (stock Rasa's engine has none: the first
  message after a restart got the apology);
- SQLite: WAL (synchronous=NORMAL: no fsync per commit), a 30 s busy timeout and foreign
  keys, so the Rasa server and the console can share one file; a file's connections are
  pooled, not opened per session;
- no bound values in SQL error messages (they end up in logs);
- PostgreSQL: the session time zone is UTC, as the naive UTC datetimes we store assume; and
  Rasa's pool settings (SQL_POOL_SIZE, SQL_MAX_OVERFLOW, POSTGRESQL_SCHEMA) are honoured.

It also holds the one clock, `now()` (timezone-aware UTC), and `as_stored`, the one conversion
to what a DateTime column holds: naive UTC, what every row ever written means. The columns stay
naive: SQLAlchemy's SQLite type drops an offset anyway, so `timezone=True` would mean aware
values from PostgreSQL and naive ones from SQLite.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

SQLITE_BUSY_TIMEOUT_MS = 30_000
# As many as asyncio's default executor has worker threads (concurrent.futures' default).
SQLITE_POOL_SIZE = min(32, (os.cpu_count() or 1) + 4)


def now() -> datetime:
    """The project's clock: now, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def as_stored(moment: datetime) -> datetime:
    """`moment` as a DateTime column holds it: naive UTC. A naive `moment` is refused: which
    zone would it be in?"""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no time zone to convert from: {moment!r}")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def utcnow() -> datetime:
    """Now as a DateTime column holds it (naive UTC): to write a row or compare with one."""
    return as_stored(now())


def make_engine(url: str | URL, **engine_kwargs: Any) -> Engine:
    """A 2.0-style engine for `url` (SQLite file or server), with pre-ping and our pragmas."""
    parsed = make_url(url)
    # hide_parameters: an SQL error's message (logged, shown in tracebacks) names the
    # statement but not the values, which may be what a user typed.
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # A pool, as SQLAlchemy 2.0 gives a file by default (1.4 opens and closes a
            # connection per session, and closing the last one checkpoints the WAL file: a
            # third of the conversation log's time per message). The pool hands a connection
            # to one thread at a time, so the driver's same-thread check is not needed.
            kwargs["poolclass"] = QueuePool
            kwargs["connect_args"]["check_same_thread"] = False
            # Room for every worker thread at once (asyncio's default executor has up to
            # cpu_count + 4): a connection made beyond the pool is set up (pragmas) and closed
            # again each time. A file is never "disconnected", so no ping before each use.
            kwargs["pool_size"] = SQLITE_POOL_SIZE
            kwargs["pool_pre_ping"] = False
    connect_args = {**kwargs.get("connect_args", {}), **engine_kwargs.pop("connect_args", {})}
    if parsed.get_backend_name() == "postgresql":
        # Appended to any options the caller gives (Rasa's POSTGRESQL_SCHEMA search path).
        options = connect_args.get("options", "")
        connect_args["options"] = f"{options} -c timezone=UTC".strip()
    kwargs.update(engine_kwargs)
    if connect_args:
        kwargs["connect_args"] = connect_args
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit (SQLite's advice for WAL):
    # the database stays consistent after a crash; a power cut may lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
