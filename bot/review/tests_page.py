"""The console's test conversations: save a transcript (or its first turns) as a regression
case, edit what its final reply must and must not say, download them as YAML
(bot.review.saved_tests holds the rules; this module is the pages)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.evaluation import KINDS, MAX_TURNS
from bot.review import console, saved_tests
from bot.review.console import LOG, in_thread, object_id, refused_as_http, username
from bot.review.database import ConversationLog
from bot.review.transcript_page import transcript
from bot.store import RoleStore, get_store

STORE: web.AppKey[Any] = web.AppKey("saved_tests_store", object)


def install(app: web.Application, store: RoleStore | None = None) -> None:
    """Add the pages to the console; `store` (the role store the prefill reads) defaults to
    the settings' one, opened on first use."""
    app[STORE] = store
    app.add_routes(
        [
            web.get(r"/conversations/{id:\d+}/test", new_test, name="new_test"),
            web.post(r"/conversations/{id:\d+}/test", save_test, name="save_test"),
            web.get("/tests", tests_list, name="tests"),
            web.get("/tests.yml", tests_file, name="tests_file"),
            web.post(r"/tests/{id:\d+}", update_test, name="update_test"),
            web.post(r"/tests/{id:\d+}/delete", delete_test, name="delete_test"),
        ]
    )


def _store(request: web.Request) -> RoleStore:
    store: RoleStore | None = request.app[STORE]
    return store if store is not None else get_store()


def _turns(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit():
        raise web.HTTPBadRequest(text="turns: a whole number")
    return int(value)


def _suggest(request: web.Request, turns: int | None, kind: str | None) -> saved_tests.Draft:
    """The draft test of the conversation's first `turns` (the role store fills in facts)."""
    found = transcript(request.app[LOG], object_id(request))
    return saved_tests.suggest(found, _store(request), turns, kind)


async def _draft(request: web.Request, turns: int | None, kind: str | None) -> saved_tests.Draft:
    with refused_as_http("no such conversation"):
        return await in_thread(_suggest, request, turns, kind)


def _form_page(
    request: web.Request,
    draft: saved_tests.Draft,
    error: str = "",
    status: int = 200,
    must: list[str] | None = None,
    must_not: list[str] | None = None,
) -> web.Response:
    return console.render(
        request,
        "test_new.html",
        status=status,
        draft=draft,
        kinds=KINDS,
        choices=range(1, min(len(draft.exchanges), MAX_TURNS) + 1),
        must="\n".join(draft.must if must is None else must),
        must_not="\n".join(draft.must_not if must_not is None else must_not),
        error=error,
    )


async def new_test(request: web.Request) -> web.Response:
    draft = await _draft(request, _turns(request.query.get("turns")), request.query.get("kind"))
    return _form_page(request, draft)


async def save_test(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    kind = str(form.get("kind", ""))
    draft = await _draft(request, _turns(str(form.get("turns", ""))), kind)
    must = saved_tests.phrases(str(form.get("must", "")))
    must_not = saved_tests.phrases(str(form.get("must_not", "")))
    try:
        saved = await in_thread(
            _save,
            request.app[LOG],
            conversation_id=draft.conversation_id,
            turns=[e.text for e in draft.exchanges[: draft.turns]],
            kind=kind,
            must=must,
            must_not=must_not,
            by=username(request),
        )
    except ValueError as error:
        return _form_page(request, draft, str(error), 400, must, must_not)
    raise web.HTTPSeeOther(f"/tests?saved={saved.id}#test-{saved.id}")


def _save(log: ConversationLog, **test: Any) -> saved_tests.Saved:
    with log.session() as session:
        return saved_tests.save(session, **test)


def _all(log: ConversationLog) -> list[saved_tests.Saved]:
    with log.session() as session:
        return saved_tests.saved_tests(session)


def _update(log: ConversationLog, test_id: int, **test: Any) -> None:
    with log.session() as session:
        saved_tests.update(session, test_id, **test)


def _remove(log: ConversationLog, test_id: int) -> None:
    with log.session() as session:
        saved_tests.remove(session, test_id)


async def tests_list(request: web.Request) -> web.Response:
    found = await in_thread(_all, request.app[LOG])
    saved = request.query.get("saved", "")
    return console.render(
        request,
        "tests.html",
        tests=found,
        kinds=KINDS,
        saved=int(saved) if saved.isascii() and saved.isdigit() else None,
        error="",
    )


async def tests_file(request: web.Request) -> web.Response:
    return web.Response(
        text=saved_tests.export_yaml(await in_thread(_all, request.app[LOG])),
        content_type="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="saved_conversations.yml"'},
    )


async def update_test(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    test_id = object_id(request)
    try:
        await in_thread(
            _update,
            request.app[LOG],
            test_id,
            kind=str(form.get("kind", "")),
            must=saved_tests.phrases(str(form.get("must", ""))),
            must_not=saved_tests.phrases(str(form.get("must_not", ""))),
        )
    except LookupError:
        raise web.HTTPNotFound(text="no such test conversation") from None
    except ValueError as error:
        return console.render(
            request,
            "tests.html",
            status=400,
            tests=await in_thread(_all, request.app[LOG]),
            kinds=KINDS,
            saved=None,
            error=f"Test {test_id} was not changed: {error}",
        )
    raise web.HTTPSeeOther(f"/tests?saved={test_id}#test-{test_id}")


async def delete_test(request: web.Request) -> web.StreamResponse:
    try:
        await in_thread(_remove, request.app[LOG], object_id(request))
    except LookupError:
        raise web.HTTPNotFound(text="no such test conversation") from None
    raise web.HTTPSeeOther("/tests")
