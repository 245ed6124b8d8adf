"""Logging in and out (/login, /logout), the recent login attempts (/logins) and the audit
trail (/audit): who signed in, and who read, exported or erased what (bot.review.auth holds the
rules for passwords, throttling and sessions; bot.tracking.retention the audit trail)."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import func, select

from bot.review import auth
from bot.review import models as review_models
from bot.review.console import (
    CONFIG,
    LOG,
    WHOLE,
    Config,
    in_thread,
    page_number,
    public,
    render,
    safe_next,
)
from bot.review.database import ConversationLog, paged
from bot.tracking.models import AuditEntry
from bot.tracking.retention import AUDITED

SESSION_COOKIE = "review_session"
LOGIN_COOKIE = "review_login"
AUDIT_PER_PAGE = 100
PSEUDONYM = re.compile(r"[0-9a-f]{32}")


def install(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/login", login_form, name="login"),
            web.post("/login", login, name="login_post"),
            web.post("/logout", logout, name="logout"),
            web.get("/logins", logins, name="logins"),
            web.get("/audit", audit_page, name="audit"),
        ]
    )


@dataclass(frozen=True)
class AuditRow:
    """One line of the audit trail, as the Audit page shows it."""

    at: datetime
    action: str
    actor: str
    via: str
    conversation: str | None
    events: int | None
    conversations: int | None
    detail: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


# --- queries -------------------------------------------------------------------------------


def set_trainer(log: ConversationLog, username: str, password: str, *, reset: bool = False) -> bool:
    with log.session() as session:
        return auth.set_trainer(session, username, password, reset=reset, n=log.scrypt_n)


def log_in(
    log: ConversationLog, username: str, password: str, secret: str, address: str = "unknown"
) -> auth.LoginResult:
    """A signed session cookie for a right username and password, unless throttled.

    Each step is its own transaction: scrypt (~0.5 s) never runs while the database is
    locked, and a throttled attempt never reaches it.
    """
    with log.session() as session:
        attempt, wait = auth.begin_attempt(session, username, address)
        found = None if attempt is None else auth.stored_hash(session, username)
    if attempt is None:
        return auth.LoginResult(None, retry_after=wait)
    right = auth.check_password(found, password, log.scrypt_n)
    rehashed = None
    if right and found and auth.needs_rehash(found[1], log.scrypt_n):
        rehashed = auth.hash_password(password, n=log.scrypt_n)
    with log.session() as session:
        auth.end_attempt(session, attempt, right)
        if not right or found is None:
            return auth.LoginResult(None)
        if rehashed:
            auth.set_hash(session, found[0], rehashed)
        return auth.LoginResult(auth.start_session(session, found[0], secret))


def login_attempts(log: ConversationLog, limit: int = 200) -> list[review_models.LoginAttempt]:
    with log.session() as session:
        return auth.recent_attempts(session, limit)


def signed_in(log: ConversationLog, cookie: str | None, secret: str) -> auth.SignedIn | None:
    with log.session() as session:
        return auth.signed_in(session, cookie, secret)


def log_out(log: ConversationLog, token_hash: str) -> None:
    with log.session() as session:
        auth.end_session(session, token_hash)


def audit(
    log: ConversationLog, action: str | None = None, page: int = 1, per_page: int = AUDIT_PER_PAGE
) -> AuditPage:
    """The audit trail, newest first; only `action` entries if given."""
    conditions = [AuditEntry.action == action] if action else []
    with log.session() as session:
        counted = select(func.count()).select_from(AuditEntry).where(*conditions)
        total, page, pages = paged(session, counted, page, per_page)
        found = session.execute(
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).scalars()
        rows = [
            AuditRow(
                at=e.at,
                action=e.action,
                actor=e.actor,
                via=e.via,
                conversation=e.conversation,
                events=e.events,
                conversations=e.conversations,
                detail=e.detail,
            )
            for e in found
        ]
    return AuditPage(rows=rows, total=total, page=page, pages=pages)


# --- handlers ------------------------------------------------------------------------------


def _erased(query: Any) -> str:
    """What the audit page says after an erasure (the transcript page's redirect names the
    pseudonym and the count of events)."""
    sender, count = query.get("erased", ""), query.get("n", "")
    if PSEUDONYM.fullmatch(sender) and WHOLE.fullmatch(count):
        return f"Erased conversation {sender}: {count} event{'' if count == '1' else 's'}."
    return ""


def _cookie(response: web.StreamResponse, config: Config, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=config.secure_cookies,
        path="/",
    )


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
        next=safe_next(next_page if next_page is not None else request.query.get("next")),
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
    result = await in_thread(
        log_in,
        request.app[LOG],
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
    response = web.HTTPSeeOther(safe_next(next_page))
    _cookie(response, config, SESSION_COOKIE, result.cookie)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    await in_thread(log_out, request.app[LOG], request["user"].token_hash)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def logins(request: web.Request) -> web.Response:
    attempts = await in_thread(login_attempts, request.app[LOG])
    return render(request, "logins.html", attempts=attempts)


async def audit_page(request: web.Request) -> web.Response:
    action = request.query.get("action") or None
    if action is not None and action not in AUDITED:
        action = None
    found = await in_thread(audit, request.app[LOG], action, page_number(request))
    query = {"action": action} if action else {}
    return render(
        request,
        "audit.html",
        page=found,
        action=action,
        actions=AUDITED,
        done=_erased(request.query),
        page_link=lambda n: "/audit?" + urlencode({**query, "page": str(n)}),
    )
