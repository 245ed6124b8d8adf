"""The review console's web app (aiohttp + Jinja2): every page behind a trainer's login.

Security, in one place (the middlewares below): a request without a valid session is sent
to /login (pages) or refused with 401 (the JSON API), every POST must carry the session's
CSRF token (the login form a signed token from its own cookie), templates are autoescaped,
and the Content-Security-Policy allows no script at all. Every transcript opened, export made
and erasure done is recorded in the audit trail (who, when, which pseudonym; /audit). The
console reads and writes the conversation log's database; it serves everything it needs itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.review import (
    auth,
    conversations_page,
    dashboard_page,
    labels_page,
    logins_page,
    models_page,
    tests_page,
    transcript_page,
    unanswered_page,
)
from bot.review.console import CONFIG, LOG, Config, Handler, domain_intents, in_thread
from bot.review.database import ConversationLog
from bot.settings import Settings, get_settings
from bot.store.sql import make_engine
from bot.tracking.store import sqlite_pragmas

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Each page module adds its routes (the Models pages also need the settings).
PAGES: tuple[Any, ...] = (
    logins_page,
    conversations_page,
    transcript_page,
    labels_page,
    dashboard_page,
    unanswered_page,
    tests_page,
)


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
    for page in PAGES:
        page.install(app)
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
    user = await in_thread(
        logins_page.signed_in,
        request.app[LOG],
        request.cookies.get(logins_page.SESSION_COOKIE),
        config.secret,
    )
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


def run(host: str = "127.0.0.1", port: int = 8081, settings: Settings | None = None) -> None:
    """`python -m bot review serve`: serve the console until interrupted."""
    app = create_app(settings)
    print(f"The review console is on http://{host}:{port}/", flush=True)
    web.run_app(app, host=host, port=port, print=None, access_log=None)
