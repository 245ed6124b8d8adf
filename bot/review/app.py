"""The review console's web app (aiohttp + Jinja2): every page behind a trainer's login.

Security, in one place (the middlewares below): a request without a valid session is sent
to /login (pages) or refused with 401 (the JSON API), every POST must carry the session's
CSRF token (the login form a signed token from its own cookie), templates are autoescaped,
and the Content-Security-Policy allows no script at all. Every transcript opened, export made
and erasure done is recorded in the audit trail (who, when, which pseudonym; /audit). The
console reads and writes the conversation log's database; it serves everything it needs itself.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import re
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import yaml
from aiohttp import web

from bot.db import now
from bot.review import auth, charts
from bot.review.export import build_export
from bot.review.grouping import REASONS, Group, group
from bot.review.queries import (
    MAX_GROUP_MESSAGES,
    OUT_OF_SCOPE,
    ConversationLog,
    Filters,
    NotFound,
)
from bot.settings import PROJECT_ROOT, Settings, get_settings
from bot.store.sql import make_engine
from bot.tracking.retention import AUDITED, EXPORT, TRANSCRIPT
from bot.tracking.store import sqlite_pragmas

SESSION_COOKIE = "review_session"
LOGIN_COOKIE = "review_login"
TEMPLATES = Path(__file__).with_name("templates")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

LOG: web.AppKey[ConversationLog] = web.AppKey("log", ConversationLog)
CONFIG: web.AppKey[Any] = web.AppKey("config", object)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def public(handler: Handler) -> Handler:
    """Mark a handler as reachable without logging in (only the login form is)."""
    handler.public = True  # type: ignore[attr-defined]
    return handler


def domain_intents(domain: Path = PROJECT_ROOT / "domain.yml") -> list[str]:
    """The intents a message can be relabelled with: the domain's, as the lead maintains it."""
    data = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    names = [i if isinstance(i, str) else next(iter(i)) for i in data.get("intents") or []]
    return sorted(set(names) | {OUT_OF_SCOPE})


class Config:
    """What the handlers need besides the database: secret, templates, intents."""

    def __init__(self, settings: Settings, intents: list[str]) -> None:
        self.secret = settings.console_secret()
        self.secure_cookies = settings.production
        self.intents = intents
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else ""
        self.templates.filters["confidence"] = lambda c: "" if c is None else f"{c:.2f}"


def create_app(
    settings: Settings | None = None,
    *,
    log: ConversationLog | None = None,
    intents: list[str] | None = None,
) -> web.Application:
    settings = settings or get_settings()
    if log is None:
        engine = make_engine(settings.tracker_store_url)
        sqlite_pragmas(engine)
        log = ConversationLog(engine)
    log.create_tables()
    app = web.Application(middlewares=[security_headers, require_login])
    app[LOG] = log
    app[CONFIG] = Config(settings, intents if intents is not None else domain_intents())
    app.add_routes(
        [
            web.get("/login", login_form, name="login"),
            web.post("/login", login, name="login_post"),
            web.post("/logout", logout, name="logout"),
            web.get("/", conversation_list, name="conversations"),
            web.get(r"/conversations/{id:\d+}", transcript, name="transcript"),
            web.post(r"/conversations/{id:\d+}/reviewed", mark_reviewed, name="reviewed"),
            web.post(r"/conversations/{id:\d+}/note", save_note, name="note"),
            web.post(r"/conversations/{id:\d+}/tags", add_tag, name="add_tag"),
            web.post(r"/conversations/{id:\d+}/tags/remove", remove_tag, name="remove_tag"),
            web.get(r"/conversations/{id:\d+}/erase", erase_form, name="erase_form"),
            web.post(r"/conversations/{id:\d+}/erase", erase, name="erase"),
            web.post(r"/messages/{id:\d+}/label", relabel, name="label"),
            web.get("/dashboard", dashboard, name="dashboard"),
            web.get("/export", export_page, name="export"),
            web.get("/export.yml", export_file, name="export_file"),
            web.get("/logins", login_attempts, name="logins"),
            web.get("/audit", audit_page, name="audit"),
            web.get("/unanswered", unanswered_page, name="unanswered"),
            web.get("/unanswered.csv", unanswered_csv, name="unanswered_csv"),
            web.post("/unanswered/label", label_group, name="label_group"),
            web.post("/unanswered/gap", gap_group, name="gap_group"),
            web.get("/gaps", gaps_page, name="gaps"),
            web.post(r"/gaps/{id:\d+}/delete", delete_gap, name="delete_gap"),
            web.get("/api/conversations", api_conversations, name="api_conversations"),
            web.get(r"/api/conversations/{id:\d+}", api_transcript, name="api_transcript"),
        ]
    )
    from bot.review import models_page, tests_page

    tests_page.install(app)
    models_page.install(app, settings)
    return app


# --- middlewares ---------------------------------------------------------------------------


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _harden(response)
        raise
    _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


@web.middleware
async def require_login(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Anonymous requests never reach a handler (bar the login form); POSTs need the CSRF token."""
    route_handler = request.match_info.handler
    if getattr(route_handler, "public", False):
        return await handler(request)
    config: Config = request.app[CONFIG]
    user = request.app[LOG].signed_in(request.cookies.get(SESSION_COOKIE), config.secret)
    if user is None:
        if request.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
            raise web.HTTPUnauthorized(text="log in first")
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    request["user"] = user
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        form = await request.post()
        given = form.get("csrf_token")
        if not auth.tokens_match(given if isinstance(given, str) else None, user.csrf_token):
            raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page")
    return await handler(request)


# --- helpers -------------------------------------------------------------------------------


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    config: Config = request.app[CONFIG]
    user: auth.SignedIn | None = request.get("user")
    body = config.templates.get_template(template).render(
        user=user,
        csrf_token=user.csrf_token if user else "",
        path=request.path,
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _back(conversation_id: int, anchor: str = "") -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/conversations/{conversation_id}{anchor}")


# A path on this site: "/" then printable ASCII other than a space or backslash, and not
# "//" (another host). Browsers drop tabs and newlines from URLs ("/\t/evil.example" becomes
# "//evil.example"), so anything outside that set is refused, not cleaned.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def _safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the conversation list."""
    if target and _LOCAL_PATH.fullmatch(target):
        return target
    return "/"


def _cookie(response: web.StreamResponse, config: Config, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=config.secure_cookies,
        path="/",
    )


# --- login ---------------------------------------------------------------------------------


@public
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request)


def _login_page(
    request: web.Request, error: str = "", status: int = 200, next_page: str | None = None
) -> web.Response:
    config: Config = request.app[CONFIG]
    # Keep the browser's nonce if it has one: other requests that land on /login (the
    # favicon, a second tab) must not invalidate the form already shown.
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    if not re.fullmatch(r"[A-Za-z0-9_-]{32}", nonce):
        nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status=status,
        error=error,
        login_token=auth.sign(config.secret, nonce),
        next=_safe_next(next_page if next_page is not None else request.query.get("next")),
    )
    _cookie(response, config, LOGIN_COOKIE, nonce)
    return response


@public
async def login(request: web.Request) -> web.StreamResponse:
    config: Config = request.app[CONFIG]
    form = await request.post()
    nonce = auth.unsign(config.secret, str(form.get("csrf_token", "")))
    if nonce is None or not auth.tokens_match(request.cookies.get(LOGIN_COOKIE), nonce):
        return _login_page(request, "The form had expired: please try again.", status=403)
    next_page = str(form.get("next", "/"))
    result = await asyncio.to_thread(
        request.app[LOG].log_in,
        str(form.get("username", "")),
        str(form.get("password", "")),
        config.secret,
        request.remote or "unknown",
    )
    if result.retry_after:
        minutes = math.ceil(result.retry_after / 60)
        page = _login_page(
            request,
            "Too many failed logins for this username or from this address: try again in "
            f"{minutes} minute{'' if minutes == 1 else 's'}.",
            status=429,
            next_page=next_page,
        )
        page.headers["Retry-After"] = str(result.retry_after)
        return page
    if result.cookie is None:
        return _login_page(request, "Wrong username or password.", status=401, next_page=next_page)
    response = web.HTTPSeeOther(_safe_next(next_page))
    _cookie(response, config, SESSION_COOKIE, result.cookie)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[LOG].log_out(request["user"].token_hash)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


# --- pages ---------------------------------------------------------------------------------


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


async def conversation_list(request: web.Request) -> web.Response:
    log = request.app[LOG]
    filters = Filters.from_query(request.query)
    page = log.conversations(filters, _page_number(request))
    query = filters.as_query()
    return render(
        request,
        "list.html",
        filters=filters,
        page=page,
        channels=log.channels(),
        tags=log.tag_names(),
        page_link=lambda n: "/?" + urlencode({**query, "page": str(n)}),
        query=urlencode(query),
    )


def _audited(
    request: web.Request, action: str, *, conversation: str | None = None, detail: str = ""
) -> None:
    """Record the trainer's access in the audit trail (bot.tracking.retention)."""
    request.app[LOG].record(
        action, request["user"].username, conversation=conversation, detail=detail
    )


async def transcript(request: web.Request) -> web.Response:
    try:
        found = request.app[LOG].transcript(_id(request))
    except NotFound:
        raise web.HTTPNotFound(text="no such conversation") from None
    _audited(request, TRANSCRIPT, conversation=found.conversation.sender_id)
    return render(
        request,
        "transcript.html",
        transcript=found,
        conversation=found.conversation,
        intents=request.app[CONFIG].intents,
        back=_safe_next(request.query.get("back")),
    )


@contextmanager
def _refused_as_http() -> Iterator[None]:
    """A change the log refuses: no such conversation is a 404, a value it won't take a 400."""
    try:
        yield
    except NotFound:
        raise web.HTTPNotFound() from None
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


async def mark_reviewed(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    reviewed = form.get("reviewed") == "1"
    with _refused_as_http():
        request.app[LOG].set_reviewed(_id(request), reviewed, request["user"].username)
    raise _back(_id(request))


async def save_note(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    with _refused_as_http():
        request.app[LOG].set_note(_id(request), str(form.get("note", "")))
    raise _back(_id(request))


async def add_tag(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    with _refused_as_http():
        request.app[LOG].add_tag(_id(request), str(form.get("tag", "")))
    raise _back(_id(request))


async def remove_tag(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    request.app[LOG].remove_tag(_id(request), str(form.get("tag", "")))
    raise _back(_id(request))


async def relabel(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    label = str(form.get("label", "")).strip() or None
    if label is not None and label not in request.app[CONFIG].intents:
        raise web.HTTPBadRequest(text=f"unknown intent '{label}'")
    try:
        conversation_id = request.app[LOG].set_label(_id(request), label, request["user"].username)
    except NotFound:
        raise web.HTTPNotFound() from None
    raise _back(conversation_id, f"#message-{_id(request)}")


def _range(request: web.Request) -> tuple[date, date]:
    today = now().date()
    filters = Filters.from_query(request.query)
    end = filters.date_to or today
    start = filters.date_from or end - timedelta(days=29)
    if start > end:
        start, end = end, start
    return start, min(end, start + timedelta(days=365))


async def dashboard(request: web.Request) -> web.Response:
    start, end = _range(request)
    log = request.app[LOG]
    stats = log.stats(start, end)
    unanswered = await asyncio.to_thread(log.unanswered, start, end)
    by_day = Counter(m.sent_at.date() for m in unanswered)
    tick = max(1, len(stats.days) // 8)
    per_day = charts.columns([(d, float(n)) for d, n, _ in stats.days], tick_every=tick)
    rate = charts.columns(
        [(d, f / n if n else 0.0) for d, n, f in stats.days], percent=True, tick_every=tick
    )
    return render(
        request,
        "dashboard.html",
        stats=stats,
        start=start,
        end=end,
        per_day=per_day,
        rate=rate,
        unanswered=len(unanswered),
        unanswered_per_day=charts.columns(
            [(d, float(by_day.get(d, 0))) for d, _, _ in stats.days], tick_every=tick
        ),
        intents=charts.rows(stats.top_intents),
        feedback=charts.rows(
            [("Helpful", stats.helpful), ("Not helpful", stats.not_helpful)],
            tones=["good", "bad"],
        ),
    )


def _export(request: web.Request, what: str) -> Any:
    found = build_export(request.app[LOG].labelled())
    _audited(request, EXPORT, detail=f"{what}: {found.count} NLU example(s)")
    return found


async def export_page(request: web.Request) -> web.Response:
    found = _export(request, "NLU export (page)")
    return render(request, "export.html", export=found, text=found.yaml())


async def export_file(request: web.Request) -> web.Response:
    return web.Response(
        text=_export(request, "NLU export (file)").yaml(),
        content_type="application/x-yaml",
        headers={"Content-Disposition": 'attachment; filename="relabelled_nlu.yml"'},
    )


async def login_attempts(request: web.Request) -> web.Response:
    attempts = await asyncio.to_thread(request.app[LOG].login_attempts)
    return render(request, "logins.html", attempts=attempts)


# --- erasure and the audit trail -----------------------------------------------------------


async def erase_form(request: web.Request) -> web.Response:
    """Are you sure? What erasing this conversation removes, and the button that does it."""
    log = request.app[LOG]
    try:
        conversation = log.conversation(_id(request))
        removed = log.measure(_id(request))
    except NotFound:
        raise web.HTTPNotFound(text="no such conversation") from None
    return render(request, "erase.html", conversation=conversation, removed=removed)


async def erase(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if form.get("confirm") != "yes":
        raise web.HTTPSeeOther(f"/conversations/{_id(request)}/erase")
    try:
        sender, removed = request.app[LOG].erase(_id(request), request["user"].username)
    except NotFound:
        raise web.HTTPNotFound(text="no such conversation") from None
    raise web.HTTPSeeOther("/audit?" + urlencode({"erased": sender, "n": str(removed.events)}))


async def audit_page(request: web.Request) -> web.Response:
    action = request.query.get("action") or None
    if action is not None and action not in AUDITED:
        action = None
    found = await asyncio.to_thread(request.app[LOG].audit, action, _page_number(request))
    erased, count = request.query.get("erased", ""), request.query.get("n", "")
    done = ""
    if _PSEUDONYM.fullmatch(erased) and _WHOLE.fullmatch(count):
        done = f"Erased conversation {erased}: {count} event{'' if count == '1' else 's'}."
    query = {"action": action} if action else {}
    return render(
        request,
        "audit.html",
        page=found,
        action=action,
        actions=AUDITED,
        done=done,
        page_link=lambda n: "/audit?" + urlencode({**query, "page": str(n)}),
    )


# --- unanswered messages and content gaps --------------------------------------------------

GROUPS_PER_PAGE = 50
# An id or a count in a form or a query: ASCII digits only ("²".isdigit() is True).
_WHOLE = re.compile(r"[0-9]{1,12}")
_PSEUDONYM = re.compile(r"[0-9a-f]{32}")
DONE = {
    "label": "Labelled {n} message{s}: {they} in the export now.",
    "gap": "Put {n} message{s} in a content gap: see Content gaps.",
}


def _groups(request: web.Request) -> tuple[date, date, bool, list[Group]]:
    """The range and "include handled" choice of the query, and the groups for them."""
    start, end = _range(request)
    handled = request.query.get("all") in ("1", "on")
    messages = request.app[LOG].unanswered(start, end, handled=handled)
    return start, end, handled, group(messages)


def _unanswered_query(start: date, end: date, handled: bool) -> dict[str, str]:
    query = {"from": start.isoformat(), "to": end.isoformat()}
    return {**query, "all": "1"} if handled else query


async def unanswered_page(request: web.Request) -> web.Response:
    start, end, handled, groups = await asyncio.to_thread(_groups, request)
    query = _unanswered_query(start, end, handled)
    pages = max(1, math.ceil(len(groups) / GROUPS_PER_PAGE))
    page = min(_page_number(request), pages)
    done = DONE.get(request.query.get("done", ""))
    count = request.query.get("n", "")
    done_text = ""
    if done and _WHOLE.fullmatch(count):
        n = int(count)
        done_text = done.format(
            n=n, s="" if n == 1 else "s", they="it is" if n == 1 else "they are"
        )
    return render(
        request,
        "unanswered.html",
        start=start,
        end=end,
        handled=handled,
        groups=groups[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE],
        first_number=(page - 1) * GROUPS_PER_PAGE + 1,
        total_groups=len(groups),
        total_messages=sum(g.count for g in groups),
        page=page,
        pages=pages,
        page_link=lambda n: "/unanswered?" + urlencode({**query, "page": str(n)}),
        query=query,
        csv_link="/unanswered.csv?" + urlencode(query),
        reasons=REASONS,
        intents=request.app[CONFIG].intents,
        gaps=request.app[LOG].gaps(),
        done=done_text,
    )


def csv_cell(value: Any) -> str:
    """A CSV value a spreadsheet shows as text: a leading = + - @ would start a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def unanswered_csv(request: web.Request) -> web.Response:
    start, end, _handled, groups = await asyncio.to_thread(_groups, request)
    gap_notes = {gap.id: gap.note for gap in request.app[LOG].gaps()}
    out = io.StringIO()
    _audited(request, EXPORT, detail=f"unanswered groups (CSV): {len(groups)} group(s)")
    writer = csv.writer(out)
    writer.writerow(
        ["group", "messages", "first_asked", "last_asked", "why", "labelled_as",
         "content_gap", "examples"]
    )  # fmt: skip
    for number, found in enumerate(groups, start=1):
        writer.writerow(
            csv_cell(value)
            for value in (
                number,
                found.count,
                found.first.strftime("%Y-%m-%d %H:%M"),
                found.last.strftime("%Y-%m-%d %H:%M"),
                "; ".join(f"{REASONS[r]} ({n})" for r, n in found.reasons),
                "; ".join(found.labels),
                "; ".join(gap_notes.get(i, "") for i in found.gap_ids),
                " | ".join(found.examples),
            )
        )
    name = f"unanswered-{start.isoformat()}-to-{end.isoformat()}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _group_form(request: web.Request) -> tuple[Any, list[int], str]:
    """The posted form, its message ids, and the Unanswered page to go back to."""
    form = await request.post()
    given = form.get("messages", "")
    parts = given.split(",") if isinstance(given, str) and given else []
    if len(parts) > MAX_GROUP_MESSAGES or not all(_WHOLE.fullmatch(p) for p in parts):
        raise web.HTTPBadRequest(text=f"a group is 1 to {MAX_GROUP_MESSAGES} message ids")
    ids = [int(p) for p in parts]
    if not ids:
        raise web.HTTPBadRequest(text=f"a group is 1 to {MAX_GROUP_MESSAGES} messages")
    back = Filters.from_query({k: str(form.get(k, "")) for k in ("from", "to")})
    query = {
        "from": back.date_from.isoformat() if back.date_from else "",
        "to": back.date_to.isoformat() if back.date_to else "",
        "all": "1" if form.get("all") == "1" else "",
    }
    return form, ids, urlencode({k: v for k, v in query.items() if v})


async def label_group(request: web.Request) -> web.StreamResponse:
    form, ids, back = await _group_form(request)
    label = str(form.get("label", "")).strip()
    if label not in request.app[CONFIG].intents:
        raise web.HTTPBadRequest(text=f"unknown intent '{label[:100]}'")
    done = request.app[LOG].label_messages(ids, label, request["user"].username)
    raise web.HTTPSeeOther(f"/unanswered?{back}&done=label&n={done}")


async def gap_group(request: web.Request) -> web.StreamResponse:
    form, ids, back = await _group_form(request)
    chosen = str(form.get("gap", "")).strip()
    if chosen and not _WHOLE.fullmatch(chosen):
        raise web.HTTPBadRequest(text="choose a content gap from the list")
    try:
        request.app[LOG].mark_gap(
            ids,
            request["user"].username,
            note=str(form.get("note", "")),
            gap_id=int(chosen) if chosen else None,
        )
    except NotFound:
        raise web.HTTPNotFound(text="no such content gap") from None
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    raise web.HTTPSeeOther(f"/unanswered?{back}&done=gap&n={len(set(ids))}")


async def gaps_page(request: web.Request) -> web.Response:
    return render(request, "gaps.html", gaps=request.app[LOG].gaps())


async def delete_gap(request: web.Request) -> web.StreamResponse:
    try:
        request.app[LOG].delete_gap(_id(request))
    except NotFound:
        raise web.HTTPNotFound(text="no such content gap") from None
    raise web.HTTPSeeOther("/gaps")


# --- JSON API ------------------------------------------------------------------------------


def _json(data: Any) -> web.Response:
    return web.Response(
        text=json.dumps(data, default=_plain, indent=1), content_type="application/json"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


async def api_conversations(request: web.Request) -> web.Response:
    filters = Filters.from_query(request.query)
    if filters.errors:
        return web.json_response({"errors": list(filters.errors)}, status=400)
    page = request.app[LOG].conversations(filters, _page_number(request))
    return _json(
        {
            "total": page.total,
            "page": page.page,
            "pages": page.pages,
            "conversations": [asdict(row) for row in page.rows],
        }
    )


async def api_transcript(request: web.Request) -> web.Response:
    try:
        found = request.app[LOG].transcript(_id(request))
    except NotFound:
        raise web.HTTPNotFound() from None
    _audited(request, TRANSCRIPT, conversation=found.conversation.sender_id, detail="JSON API")
    return _json(asdict(found))


def run(host: str = "127.0.0.1", port: int = 8081, settings: Settings | None = None) -> None:
    """`python -m bot review serve`: serve the console until interrupted."""
    app = create_app(settings)
    print(f"The review console is on http://{host}:{port}/", flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
