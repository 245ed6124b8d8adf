"""The console's web app: nothing without a login, CSRF on every POST, inert user text."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.review import transcript_page
from bot.review.console import LOG
from bot.review.conversations_page import Filters
from tests.support.review import PASSWORD, csrf_token, fill, find, log_in, post_login

PUBLIC = {("GET", "/login"), ("HEAD", "/login"), ("POST", "/login")}


def _routes(app: web.Application) -> list[tuple[str, str, bool]]:
    """(method, a concrete path, public?) for every route the app has."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or re.sub(r"\{[^}]+\}", "1", info.get("formatter", ""))
        found.append((route.method, path, getattr(route.handler, "public", False)))
    return found


async def test_every_route_refuses_an_anonymous_request(
    app: web.Application, client: TestClient, sqlite_url: str
) -> None:
    await fill(sqlite_url)
    routes = _routes(app)
    assert len(routes) >= 15  # the enumeration itself works
    assert {(m, p) for m, p, public in routes if public} == PUBLIC
    for method, path, public in routes:
        if public:
            continue
        response = await client.request(method, path, allow_redirects=False, data={})
        body = await response.text()
        if response.status == 303:
            assert method in ("GET", "HEAD"), (method, path)
            assert response.headers["Location"].startswith("/login?next="), path
        else:
            assert response.status == 401, (method, path, response.status)
        assert "alice" not in body and "what does an AP do" not in body
    # A path no route matches is refused the same way, not answered with a 404.
    unknown = await client.get("/no/such/page", allow_redirects=False)
    assert unknown.status == 303


async def test_a_wrong_password_is_refused(client: TestClient) -> None:
    response = await log_in(client, password="wrong password!")
    assert response.status == 401
    assert "Wrong username or password." in await response.text()
    assert "review_session" not in response.cookies
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_logging_in_sets_a_hardened_session_cookie(client: TestClient) -> None:
    response = await log_in(client)
    assert response.status == 303
    cookie = response.cookies["review_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert (await client.get("/", allow_redirects=False)).status == 200


async def test_the_login_form_needs_its_token(client: TestClient) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": "trainer", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403
    assert "review_session" not in response.cookies


@pytest.mark.usefixtures("logged_in")
async def test_a_post_without_the_sessions_csrf_token_is_refused(
    app: web.Application, client: TestClient
) -> None:
    url = "/conversations/1/reviewed"
    assert (await client.post(url, data={"reviewed": "1"}, allow_redirects=False)).status == 403
    wrong = {"reviewed": "1", "csrf_token": "x" * 43}
    assert (await client.post(url, data=wrong, allow_redirects=False)).status == 403
    assert transcript_page.conversation(app[LOG], 1).reviewed is False
    good = {"reviewed": "1", "csrf_token": await csrf_token(client)}
    assert (await client.post(url, data=good, allow_redirects=False)).status == 303
    assert transcript_page.conversation(app[LOG], 1).reviewed_by == "trainer"


@pytest.mark.usefixtures("logged_in")
async def test_user_text_is_escaped_and_no_script_may_run(
    app: web.Application, client: TestClient
) -> None:
    carol = find(app[LOG], "carol")
    for path in ("/", f"/conversations/{carol.id}"):
        response = await client.get(path)
        html = await response.text()
        assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
        assert "<script" not in html
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.usefixtures("logged_in")
async def test_relabel_then_export(app: web.Application, client: TestClient) -> None:
    dan = find(app[LOG], "dan")
    message = transcript_page.transcript(app[LOG], dan.id).turns
    message_id = next(t.message.id for t in message if t.kind == "user" and t.message)
    token = await csrf_token(client, f"/conversations/{dan.id}")
    bad = await client.post(
        f"/messages/{message_id}/label",
        data={"label": "not_an_intent", "csrf_token": token},
        allow_redirects=False,
    )
    assert bad.status == 400
    good = await client.post(
        f"/messages/{message_id}/label",
        data={"label": "ask_training", "csrf_token": token},
        allow_redirects=False,
    )
    assert good.status == 303
    assert good.headers["Location"] == f"/conversations/{dan.id}#message-{message_id}"
    exported = await client.get("/export.yml")
    document = yaml.safe_load(await exported.text())
    assert document["nlu"] == [
        {"intent": "ask_training", "examples": "- roughly how many months is the AP course\n"}
    ]


async def test_logging_out_ends_the_session(client: TestClient) -> None:
    await log_in(client)
    token = await csrf_token(client)
    assert (await client.post("/logout", data={"csrf_token": token})).status == 200
    assert (await client.get("/", allow_redirects=False)).status == 303


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        " //evil.example",
        "/ /evil.example",
        "\t//evil.example",
        "/\x00/evil.example",
        "javascript:alert(1)",
    ],
)
async def test_after_login_only_local_pages_are_opened(client: TestClient, target: str) -> None:
    response = await log_in(client, next_page=target)
    assert response.headers["Location"] == "/"


async def test_the_reported_open_redirect_is_closed(client: TestClient) -> None:
    """Issue 14: /login?next=/%09/evil.example sent the trainer to //evil.example."""
    form = await (await client.get("/login?next=/%09/evil.example")).text()
    found = re.search(r'name="next" value="([^"]*)"', form)
    assert found is not None
    assert found.group(1) == "/"
    response = await post_login(client, form, next_page="/\t/evil.example")
    assert response.status == 303 and response.headers["Location"] == "/"


async def test_a_local_next_page_is_kept(client: TestClient) -> None:
    target = "/dashboard?from=2026-01-01&to=2026-01-31"
    response = await log_in(
        client, next_page=target, form_page="/login?" + urlencode({"next": target})
    )
    assert response.headers["Location"] == target


async def test_logins_are_throttled_after_five_failures(client: TestClient) -> None:
    for _ in range(5):
        assert (await log_in(client, password="not the password")).status == 401
    refused = await log_in(client)  # the right password, refused unchecked
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert "Too many failed logins" in await refused.text()
    assert "review_session" not in refused.cookies
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_the_console_shows_the_login_audit_trail(
    app: web.Application, client: TestClient
) -> None:
    await log_in(client, password="wrong <b>pw</b>")
    await log_in(client)
    html = await (await client.get("/logins")).text()
    assert html.count("wrong username or password") == 1 and "logged in" in html
    assert "<b>pw" not in html and "wrong &lt;b&gt;" not in html


@pytest.mark.usefixtures("logged_in")
async def test_the_json_api_filters_like_the_page(client: TestClient) -> None:
    data = await (await client.get("/api/conversations?negative=1")).json()
    assert [c["preview"] for c in data["conversations"]] == ["what does an AP do"]
    assert (await client.get("/api/conversations?below=abc")).status == 400
    transcript = await (
        await client.get(f"/api/conversations/{data['conversations'][0]['id']}")
    ).json()
    kinds = [t["kind"] for t in transcript["turns"]]
    assert "user" in kinds and "bot" in kinds and "action" in kinds


@pytest.mark.usefixtures("logged_in")
async def test_the_dashboard_draws_its_charts_inline(client: TestClient) -> None:
    html = await (await client.get("/dashboard")).text()
    assert html.count("<svg") == 5
    assert "4 conversations" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _all() -> Filters:
    return Filters()
