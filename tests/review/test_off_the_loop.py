"""Every page of the console does its database work in the thread pool (console.in_thread),
never on the event loop: one slow query would otherwise stall every trainer's request.

Each route is requested over HTTP while the console's engine records the thread each SQL
statement runs in. The second test runs the same requests with in_thread's pool replaced by
the loop itself, to show the check sees work done on the loop.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event, select

from bot.registry import candidate
from bot.review import logins_page, models_page, tests_page
from bot.review.app import create_app
from bot.review.console import LOG, domain_intents
from bot.review.database import ConversationLog
from bot.review.models import ContentGap
from bot.review.saved_tests import SavedTest
from bot.settings import Settings
from bot.store import SqlRoleStore
from bot.tracking.models import Conversation, Message
from tests.support.registry import compared_candidate
from tests.support.review import (
    PASSWORD,
    SECRET,
    TRAINER,
    csrf_token,
    fill,
    fill_saveable,
    find,
    log_in,
)

CANDIDATE = "20261204-101500-abcd"


@dataclass
class Statements:
    """The thread of every statement the console's engine runs while `on`."""

    on: bool = False
    threads: list[int] = field(default_factory=list)

    def __call__(self, *_: Any) -> None:
        if self.on:
            self.threads.append(threading.get_ident())

    @contextmanager
    def recording(self) -> Iterator[list[int]]:
        self.threads, self.on = [], True
        try:
            yield self.threads
        finally:
            self.on = False


@pytest.fixture
async def console(
    log: ConversationLog,
    sqlite_url: str,
    tmp_path: Path,
    memory_store: SqlRoleStore,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[TestClient, web.Application, Statements]]:
    """The console over fill's conversations and a saveable one, a compared candidate, and
    commands that start nothing; logged in."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "careers.tar.gz").write_bytes(b"the live model")
    settings = Settings(tracker_store_url=sqlite_url, review_secret=SECRET, models_dir=models)
    logins_page.set_trainer(log, TRAINER, PASSWORD)
    await fill(sqlite_url)
    await fill_saveable(sqlite_url)
    app = create_app(settings, log=log, intents=domain_intents())
    app[tests_page.STORE] = memory_store
    compared_candidate(app[models_page.REGISTRY], CANDIDATE, b"a candidate")

    def spawn(arguments: list[str], output: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "pass"])

    monkeypatch.setattr(candidate, "spawn", spawn)
    statements = Statements()
    event.listen(log.engine, "before_cursor_execute", statements)
    async with TestClient(TestServer(app)) as client:
        await log_in(client)
        yield client, app, statements
    event.remove(log.engine, "before_cursor_execute", statements)


def _first(log: ConversationLog, query: Any) -> int:
    with log.session() as session:
        return int(session.execute(query.limit(1)).scalar_one())


# The requests the console refuses (nothing to roll back, a login form without its token);
# every other one succeeds, so each handler does its work.
REFUSED = {
    ("POST", "/models/{id}/promote"): 400,
    ("POST", "/models/rollback"): 400,
    ("POST", "/login"): 403,
}


async def _visit_every_route(
    client: TestClient, app: web.Application, statements: Statements
) -> dict[tuple[str, str], list[int]]:
    """Request every route once (the ones that delete last); the threads of each's SQL."""
    statuses: dict[tuple[str, str], int] = {}
    log = app[LOG]
    dan = find(log, "dan").id
    message = _first(log, select(Message.id).where(Message.conversation_id == dan))
    token = await csrf_token(client)
    seen: dict[tuple[str, str], list[int]] = {}

    async def call(method: str, route: str, path: str, **form: str) -> None:
        data = {"csrf_token": token, **form} if method == "POST" else None
        with statements.recording() as threads:
            response = await client.request(method, path, data=data, allow_redirects=False)
            await response.read()
        statuses[(method, route)] = response.status
        seen[(method, route)] = list(threads)

    saveable = _first(log, select(Conversation.id).order_by(Conversation.id.desc()))  # the last
    saving = {"turns": "2", "kind": "multi-turn", "must": "need further qualifications"}
    grouped = {"messages": str(message)}
    steps: list[tuple[str, str, object, dict[str, str]]] = [
        ("GET", "/", None, {}),
        ("GET", "/api/conversations", None, {}),
        ("GET", "/conversations/{id}", dan, {}),
        ("GET", "/api/conversations/{id}", dan, {}),
        ("POST", "/conversations/{id}/reviewed", dan, {"reviewed": "1"}),
        ("POST", "/conversations/{id}/note", dan, {"note": "checked"}),
        ("POST", "/conversations/{id}/tags", dan, {"tag": "pay"}),
        ("POST", "/conversations/{id}/tags/remove", dan, {"tag": "pay"}),
        ("POST", "/messages/{id}/label", message, {"label": "ask_training"}),
        ("GET", "/export", None, {}),
        ("GET", "/export.yml", None, {}),
        ("GET", "/dashboard", None, {}),
        ("GET", "/unanswered", None, {"all": "1"}),
        ("GET", "/unanswered.csv", None, {}),
        ("POST", "/unanswered/label", None, {**grouped, "label": "ask_training"}),
        ("POST", "/unanswered/gap", None, {**grouped, "note": "pay bands"}),
        ("GET", "/gaps", None, {}),
        ("GET", "/logins", None, {}),
        ("GET", "/audit", None, {}),
        ("GET", "/conversations/{id}/test", saveable, {}),
        ("POST", "/conversations/{id}/test", saveable, saving),
        ("GET", "/tests", None, {}),
        ("GET", "/tests.yml", None, {}),
        ("GET", "/models", None, {}),
        ("GET", "/models/{id}", CANDIDATE, {}),
        ("POST", "/models/candidate", None, {}),
        ("POST", "/models/{id}/compare", CANDIDATE, {}),
        ("POST", "/models/{id}/promote", CANDIDATE, {}),
        ("POST", "/models/rollback", None, {}),
    ]
    for method, route, given, form in steps:
        path = route.replace("{id}", str(given))
        if method == "GET":
            await call(method, route, f"{path}?{urlencode(form)}" if form else path)
        else:
            await call(method, route, path, **form)
    test_id = _first(log, select(SavedTest.id))
    gap = _first(log, select(ContentGap.id))
    await call("POST", "/tests/{id}", f"/tests/{test_id}", kind="fact", must="qualifications")
    await call("POST", "/tests/{id}/delete", f"/tests/{test_id}/delete")
    await call("POST", "/gaps/{id}/delete", f"/gaps/{gap}/delete")
    await call("GET", "/conversations/{id}/erase", f"/conversations/{dan}/erase")
    await call("POST", "/conversations/{id}/erase", f"/conversations/{dan}/erase", confirm="yes")
    await call("POST", "/logout", "/logout")
    await call("POST", "/login", "/login")  # refused: its form token is not in the data
    await call("GET", "/login", "/login")
    assert {r: s for r, s in statuses.items() if s >= 400} == REFUSED
    return seen


def _routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


async def test_no_page_runs_a_query_on_the_event_loop(
    console: tuple[TestClient, web.Application, Statements],
) -> None:
    client, app, statements = console
    loop_thread = threading.get_ident()
    seen = await _visit_every_route(client, app, statements)
    assert set(seen) == _routes(app)  # a new page needs a line above
    # Every route bar the login form and a refused login reads the session from the database.
    quiet = {("GET", "/login"), ("POST", "/login")}
    assert [r for r, threads in seen.items() if not threads and r not in quiet] == []
    assert [r for r, threads in seen.items() if loop_thread in threads] == []


async def test_the_check_sees_queries_run_on_the_loop(
    console: tuple[TestClient, web.Application, Statements], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, app, statements = console
    loop = asyncio.get_running_loop()

    def on_the_loop(executor: Any, work: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        done = loop.create_future()
        try:
            done.set_result(work(*args))
        except Exception as error:
            done.set_exception(error)
        return done

    monkeypatch.setattr(loop, "run_in_executor", on_the_loop)
    seen = await _visit_every_route(client, app, statements)
    loop_thread = threading.get_ident()
    assert [r for r, threads in seen.items() if threads and loop_thread not in threads] == []
    assert sum(1 for threads in seen.values() if threads) > 30
