"""The console's test conversations: save a transcript (or its first turns) as a regression
case, edit what its final reply must and must not say, download them as YAML
(bot.review.saved_tests holds the rules; this module is the pages)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.evaluation import KINDS, MAX_TURNS
from bot.review import app as console
from bot.review import saved_tests
from bot.review.queries import NotFound
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


def _draft(request: web.Request, turns: int | None, kind: str | None) -> saved_tests.Draft:
    try:
        transcript = request.app[console.LOG].transcript(console._id(request))
    except NotFound:
        raise web.HTTPNotFound(text="no such conversation") from None
    try:
        return saved_tests.suggest(transcript, _store(request), turns, kind)
    except ValueError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


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
    draft = _draft(request, _turns(request.query.get("turns")), request.query.get("kind"))
    return _form_page(request, draft)


async def save_test(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    kind = str(form.get("kind", ""))
    draft = _draft(request, _turns(str(form.get("turns", ""))), kind)
    must = saved_tests.phrases(str(form.get("must", "")))
    must_not = saved_tests.phrases(str(form.get("must_not", "")))
    try:
        with request.app[console.LOG].session() as session:
            saved = saved_tests.save(
                session,
                conversation_id=draft.conversation_id,
                turns=[e.text for e in draft.exchanges[: draft.turns]],
                kind=kind,
                must=must,
                must_not=must_not,
                by=request["user"].username,
            )
    except ValueError as error:
        return _form_page(request, draft, str(error), 400, must, must_not)
    raise web.HTTPSeeOther(f"/tests?saved={saved.id}#test-{saved.id}")


def _all(request: web.Request) -> list[saved_tests.Saved]:
    with request.app[console.LOG].session() as session:
        return saved_tests.saved_tests(session)


async def tests_list(request: web.Request) -> web.Response:
    found = _all(request)
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
        text=saved_tests.export_yaml(_all(request)),
        content_type="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="saved_conversations.yml"'},
    )


async def update_test(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    test_id = console._id(request)
    try:
        with request.app[console.LOG].session() as session:
            saved_tests.update(
                session,
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
            tests=_all(request),
            kinds=KINDS,
            saved=None,
            error=f"Test {test_id} was not changed: {error}",
        )
    raise web.HTTPSeeOther(f"/tests?saved={test_id}#test-{test_id}")


async def delete_test(request: web.Request) -> web.StreamResponse:
    try:
        with request.app[console.LOG].session() as session:
            saved_tests.remove(session, console._id(request))
    except LookupError:
        raise web.HTTPNotFound(text="no such test conversation") from None
    raise web.HTTPSeeOther("/tests")
