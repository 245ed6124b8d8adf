"""What every page of the review console shares: the app's keys, rendering a template, the
request helpers, and `in_thread`, the one way a handler does database work.

A page is a module (bot/review/*_page.py) holding its routes, its handlers and its queries;
bot/review/app.py puts them together behind the login and the security headers.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import jinja2
import yaml
from aiohttp import web

from bot.db import now
from bot.review import auth
from bot.review.database import ConversationLog, NotFound
from bot.settings import PROJECT_ROOT, Settings

TEMPLATES = Path(__file__).with_name("templates")
OUT_OF_SCOPE = "out_of_scope"
# An id or a count in a form or a query: ASCII digits only ("²".isdigit() is True).
WHOLE = re.compile(r"[0-9]{1,12}")

LOG: web.AppKey[ConversationLog] = web.AppKey("log", ConversationLog)
CONFIG: web.AppKey[Config] = web.AppKey("config")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)` in the loop's thread pool (asyncio.to_thread): a query waiting
    on the database, or on a lock held by the assistant's writes, must not stop every other
    request meanwhile. Every handler's database work goes through here
    (tests/review/test_off_the_loop.py checks that none runs on the loop)."""
    return await asyncio.to_thread(work, *args, **kwargs)


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


# A path on this site: "/" then printable ASCII other than a space or backslash, and not
# "//" (another host). Browsers drop tabs and newlines from URLs ("/\t/evil.example" becomes
# "//evil.example"), so anything outside that set is refused, not cleaned.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the conversation list."""
    if target and _LOCAL_PATH.fullmatch(target):
        return target
    return "/"


def object_id(request: web.Request) -> int:
    """The id in the path (/conversations/{id}, /messages/{id}, ...)."""
    return int(request.match_info["id"])


def username(request: web.Request) -> str:
    """The trainer signed in (require_login put them on the request)."""
    return str(request["user"].username)


def page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


async def audited(
    request: web.Request, action: str, *, conversation: str | None = None, detail: str = ""
) -> None:
    """Record the trainer's access in the audit trail (bot.tracking.retention)."""
    await in_thread(
        request.app[LOG].record,
        action,
        username(request),
        conversation=conversation,
        detail=detail,
    )


@contextmanager
def refused_as_http(not_found: str | None = None) -> Iterator[None]:
    """A change the log refuses: no such thing is a 404, a value it won't take a 400."""
    try:
        yield
    except NotFound:
        raise web.HTTPNotFound(text=not_found) from None
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


def parse_day(value: str | None) -> date | None:
    """A YYYY-MM-DD date, or None (empty or not a date)."""
    try:
        return date.fromisoformat((value or "").strip()) if (value or "").strip() else None
    except ValueError:
        return None


def date_range(query: Any) -> tuple[date, date]:
    """The days `from` and `to` of a query: the last 30 days by default, a year at most."""
    today = now().date()
    end = parse_day(query.get("to")) or today
    start = parse_day(query.get("from")) or end - timedelta(days=29)
    if start > end:
        start, end = end, start
    return start, min(end, start + timedelta(days=365))


def as_json(data: Any) -> web.Response:
    """The JSON API's answer: dates and times as ISO 8601."""
    return web.Response(
        text=json.dumps(data, default=_plain, indent=1), content_type="application/json"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)
