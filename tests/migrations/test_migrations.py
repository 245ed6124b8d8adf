"""The conversation log's migrations (bot.migrations) on SQLite and PostgreSQL: an empty
database and one made by the release before migrations both end at head, rows kept, and
head is what the models say."""

from __future__ import annotations

import importlib.util
import io
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot import migrations
from bot.cli import main
from bot.db import make_engine
from bot.migrations import schema
from bot.review import models as review_models
from bot.settings import PROJECT_ROOT, get_settings
from bot.tracking import models as log_models
from bot.tracking.models import EVENTS_ACTION_INDEX

BASELINE = "5d87c578612a"
MOMENT = datetime(2026, 11, 2, 9, 30)


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    made = make_engine(empty_url)
    yield made
    made.dispose()


def _tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _indexes(engine: Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {index["name"] for index in inspect(connection).get_indexes(table)}


def _fill(engine: Engine) -> None:
    """An event, a conversation with a message, and a trainer, as the old release wrote them."""
    with engine.begin() as connection:
        connection.execute(
            SQLTrackerStore.SQLEvent.__table__.insert().values(
                sender_id="a1b2", type_name="user", timestamp=1.0, data='{"text": "hello"}'
            )
        )
    with Session(engine, future=True) as session, session.begin():
        session.add(
            log_models.Conversation(
                sender_id="a1b2",
                started_at=MOMENT,
                last_at=MOMENT,
                day=date(2026, 11, 2),
                messages=[log_models.Message(event_id=1, sent_at=MOMENT, text="hello")],
            )
        )
        session.add(review_models.Trainer(username="alice", password_hash="x", created_at=MOMENT))


def _assert_filled(engine: Engine) -> None:
    with Session(engine, future=True) as session:
        events = session.execute(select(SQLTrackerStore.SQLEvent.data)).scalars().all()
        assert events == ['{"text": "hello"}']
        conversation = session.execute(select(log_models.Conversation)).scalar_one()
        assert (conversation.sender_id, conversation.started_at) == ("a1b2", MOMENT)
        assert [m.text for m in conversation.messages] == ["hello"]
        trainer = session.execute(select(review_models.Trainer)).scalar_one()
        assert trainer.username == "alice"


def _current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current(connection)


def _drift(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return schema.drift(connection)


def test_an_empty_database_is_upgraded_to_head_with_every_table(engine: Engine) -> None:
    assert migrations.upgrade(engine) == (None, migrations.head())
    assert _current(engine) == migrations.head()
    assert _tables(engine) == {*schema.target_metadata().tables, "alembic_version"}
    assert EVENTS_ACTION_INDEX in _indexes(engine, "events")
    _fill(engine)  # the models can write to it
    _assert_filled(engine)
    # Again: nothing to do.
    assert migrations.upgrade(engine) == (migrations.head(), migrations.head())


def test_head_has_no_drift_from_the_models(engine: Engine) -> None:
    migrations.upgrade(engine)
    assert _drift(engine) == []


def test_the_drift_check_sees_a_column_the_models_do_not_have(engine: Engine) -> None:
    migrations.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE log_tags ADD COLUMN colour VARCHAR(10)"))
    differences = _drift(engine)
    assert [(d[0], d[2], d[3].name) for d in differences] == [
        ("remove_column", "log_tags", "colour")
    ]


def _baseline_schema() -> Any:
    """The tables the release before migrations made (create_all), frozen in the baseline."""
    path = next((PROJECT_ROOT / "bot" / "migrations" / "versions").glob(f"*_{BASELINE}_*.py"))
    spec = importlib.util.spec_from_file_location("baseline_revision", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.schema


def test_a_database_made_by_the_previous_release_keeps_its_rows(engine: Engine) -> None:
    # The baseline's frozen tables, its events index included (the console's create_tables
    # added it), as create_all made them before migrations.
    _baseline_schema().create_all(engine)
    assert EVENTS_ACTION_INDEX in _indexes(engine, "events")
    _fill(engine)
    assert _current(engine) is None

    assert migrations.upgrade(engine) == (None, migrations.head())

    _assert_filled(engine)
    assert _drift(engine) == []


def test_a_log_the_console_never_opened_gains_the_consoles_tables(engine: Engine) -> None:
    """Rasa's events and the index tables only: no review_* tables, no events index."""
    SQLTrackerStore.Base.metadata.create_all(engine)
    old_tables = _baseline_schema().tables
    for name in ("log_conversations", "log_tags", "log_conversation_tags", "log_messages"):
        old_tables[name].create(engine)
    with engine.begin() as connection:
        connection.execute(
            SQLTrackerStore.SQLEvent.__table__.insert().values(sender_id="a", type_name="user")
        )

    migrations.upgrade(engine)

    assert {"review_trainers", "review_gap_messages"} <= _tables(engine)
    assert EVENTS_ACTION_INDEX in _indexes(engine, "events")
    assert _drift(engine) == []
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(text("events"))).scalar() == 1


@pytest.mark.process
def test_the_schema_imports_nothing_of_the_console() -> None:
    """The migrations own the tables; the console's pages depend on them, not the reverse
    (the Unanswered page's index on Rasa's events is named in bot.tracking.models)."""
    script = (
        "import sys; import bot.migrations; "
        "print(sorted(m for m in sys.modules if m.startswith(('bot.review', 'bot.registry')))); "
        "from bot.migrations import schema; schema.target_metadata(); "
        "print(sorted(m for m in sys.modules if m.startswith('bot.review.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    upgrade, compared = done.stdout.strip().splitlines()
    # What the tracker store runs at start loads nothing of the console or the registry.
    assert upgrade == "[]"
    # The console's own tables (trainers, gaps, saved tests), and no page, query or app.
    assert compared == "['bot.review.models', 'bot.review.saved_tests']"


def test_processes_starting_together_take_turns(empty_url: str) -> None:
    """Two Rasa instances on one new database: both end at head, neither fails."""
    engines = [make_engine(empty_url) for _ in range(2)]
    results: list[object] = []
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            results.append(migrations.upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # One created the tables; the other found them there (after waiting for the lock, or
    # before taking it).
    assert len(results) == 2
    head = migrations.head()
    assert set(results) == {(None, head), (head, head)}
    for engine in engines:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "error", "retried"),
    [
        ("sqlite://", "database is locked", True),
        ("sqlite://", "no such table: x", False),
        ("postgresql+psycopg2://u@127.0.0.1:1/d", "database is locked", False),
    ],
)
def test_only_a_locked_sqlite_file_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, url: str, error: str, retried: bool
) -> None:
    """SQLite may refuse a lock at once (SQLITE_BUSY_SNAPSHOT) instead of waiting for it."""
    calls: list[str] = []

    def once_refused(engine: Engine, revision: str) -> tuple[str | None, str | None]:
        calls.append(revision)
        if len(calls) == 1:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception(error))
        return None, "head"

    monkeypatch.setattr(migrations, "_upgrade", once_refused)
    monkeypatch.setattr(migrations.time, "sleep", lambda _seconds: None)
    engine = make_engine(url)
    if retried:
        assert migrations.upgrade(engine) == (None, "head")
        assert calls == ["head", "head"]
    else:
        with pytest.raises(OperationalError, match=error):
            migrations.upgrade(engine)
        assert calls == ["head"]
    engine.dispose()


def test_sqlite_rebuilding_a_table_in_a_migration_keeps_the_rows_that_refer_to_it(
    tmp_path: Path,
) -> None:
    """Batch mode drops and recreates a table; foreign keys stay off meanwhile, or SQLite
    would delete every message of the conversations (ON DELETE CASCADE)."""
    engine = make_engine(f"sqlite:///{tmp_path}/log.db")
    migrations.upgrade(engine)
    _fill(engine)
    with migrations.migrating(engine) as connection:
        operations = Operations(MigrationContext.configure(connection))
        with operations.batch_alter_table("log_conversations", recreate="always"):
            pass
    _assert_filled(engine)
    with engine.connect() as connection:  # and the keys are on again for the next user
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_db_command_upgrades_checks_and_reports(
    empty_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run as the Kubernetes migration Job runs it (deploy/k8s/migrate-job.yaml)."""
    job = yaml.safe_load((PROJECT_ROOT / "deploy" / "k8s" / "migrate-job.yaml").read_text())
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:3] == ["python", "-m", "bot"]
    monkeypatch.setenv("TRACKER_STORE_URL", empty_url)
    get_settings.cache_clear()
    try:
        out = io.StringIO()
        assert main(command[3:], out) == 0
        assert main(command[3:], out) == 0
        assert main(["db", "current"], out) == 0
        assert main(["db", "check"], out) == 0
    finally:
        get_settings.cache_clear()
    head = migrations.head()
    assert out.getvalue().splitlines() == [
        f"The conversation log went from no version to {head}.",
        f"The conversation log is at {head} already.",
        f"at {head} (head: {head})",
        "0 difference(s) between the database and the models.",
    ]
