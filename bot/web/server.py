"""The careers page server: the page, the privacy notice, the widget and the files they need,
from an allow-list.

Every URL the page may ask for is a key of `files()`, or one of the three pages rendered here
(`/`, `/privacy`, and `/widget/privacy.json`, what the widget's notice says): nothing is looked
up on disk from the request path, so anything else, a `..` included, is a 404. Every response
carries a Content-Security-Policy that lets the page load only from itself and connect only to
itself and the configured Rasa server, so the page requests no other host.
"""

from __future__ import annotations

import html
import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.serve import HOST
from bot.settings import PrivacySettings

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
NODE_MODULES = WEB_DIR / "node_modules"
BUILD_DIR = WEB_DIR / "build"
DEFAULT_PORT = 8080

DEFAULT_TITLE = "NHS careers assistant"
DEFAULT_OPENING_MESSAGE = (
    "Hello, I'm the NHS careers assistant. Ask me about working as a radiography assistant, "
    "an imaging support worker or an assistant practitioner: what they do, entry requirements, "
    "training, accreditation, progression and how to apply."
)

_NHSUK_IMAGES = NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk" / "assets" / "images"
_CONTENT_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
}


@dataclass(frozen=True)
class PageConfig:
    """What the careers page tells its widget: where Rasa is, the title, the opening message."""

    rasa_url: str = f"http://{HOST}:5005"
    title: str = DEFAULT_TITLE
    opening_message: str = DEFAULT_OPENING_MESSAGE
    # What the privacy notice (/privacy) and the widget's notice say: how long conversations
    # are kept, and who runs the service (bot.settings, from the environment).
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    @property
    def rasa_origin(self) -> str:
        return origin_of(self.rasa_url)


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an http(s) URL with no path, or ValueError.

    The origin is written into a response header (the CSP) and the page, so anything that is
    not plainly an origin (credentials, a path, a query, spaces, quotes, ;) is refused.
    """
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not an http(s) origin: {url!r}") from exc
    host = parts.hostname or ""
    if (
        parts.scheme not in ("http", "https")
        or not host
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not all(c.isalnum() or c in ".-:" for c in host)
    ):
        raise ValueError(f"not an http(s) origin: {url!r}")
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{netloc}" + (f":{port}" if port is not None else "")


def content_security_policy(rasa_origin: str) -> str:
    """Only this server's own files; connections to itself and to Rasa (socket.io)."""
    websocket_origin = "ws" + rasa_origin.removeprefix("http")
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            f"connect-src 'self' {rasa_origin} {websocket_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(config: PageConfig) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(config.rasa_origin),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        "Cache-Control": "no-cache",
    }


def files() -> dict[str, Path]:
    """The allow-list: URL path -> file. The page itself ("/") is rendered, not listed here."""
    widget = STATIC_DIR / "widget"
    return {
        "/widget/careers-chat.js": widget / "careers-chat.js",
        "/widget/careers-chat.css": widget / "careers-chat.css",
        "/widget/socket.io.min.js": NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js",
        "/nhsuk/nhsuk.css": BUILD_DIR / "nhsuk.css",
        "/favicon.ico": _NHSUK_IMAGES / "favicon.ico",
        **{
            f"/nhsuk/assets/images/{name}": _NHSUK_IMAGES / name
            for name in (
                "nhsuk-icon-arrow-down.svg",
                "nhsuk-icon-arrow-up-down.svg",
                "nhsuk-icon-arrow-up.svg",
                "nhsuk-icon-cross.svg",
            )
        },
    }


def render_page(config: PageConfig, template: str) -> str:
    """Fill the page's {{placeholders}}; every value is HTML-escaped, quotes included."""
    values = {
        "rasa_url": config.rasa_origin,
        "title": config.title,
        "opening_message": config.opening_message,
    }
    page = template
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", html.escape(value, quote=True))
    if "{{" in page:
        raise ValueError("the page template has a placeholder with no value")
    return page


PRIVACY_TEMPLATE = WEB_DIR / "templates" / "privacy.html"


def render_privacy(config: PageConfig) -> str:
    """The privacy notice, from the settings; a visible placeholder for what is not set."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(PRIVACY_TEMPLATE.read_text(encoding="utf-8"))
    return template.render(title=config.title, privacy=config.privacy)


def widget_privacy(config: PageConfig) -> dict[str, object]:
    """What the widget's notice says, read by the widget from /widget/privacy.json (so the
    period is the server's, not written into a host page): the period, the notice's URL."""
    privacy = config.privacy
    return {
        "retention_days": privacy.retention_days,
        "privacy_url": privacy.privacy_url or "/privacy",
        "operator": privacy.operator_name,
    }


def missing_files(allowed: Mapping[str, Path]) -> list[Path]:
    return [path for path in allowed.values() if not path.is_file()]


def create_app(config: PageConfig) -> web.Application:
    """The page server as an aiohttp application (fails at once if a served file is missing)."""
    allowed = files()
    missing = missing_files(allowed)
    if missing:
        raise FileNotFoundError(
            "the careers page's npm files are missing (run `make npm`): "
            + ", ".join(str(p) for p in missing)
        )
    headers = security_headers(config)
    index_template = STATIC_DIR / "index.html"
    render_page(config, index_template.read_text())  # fail now on a bad template
    privacy_page = render_privacy(config)
    privacy_json = json.dumps(widget_privacy(config))

    async def add_headers(_request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/":
            return web.Response(
                text=render_page(config, index_template.read_text()),
                content_type="text/html",
                charset="utf-8",
            )
        if request.path == "/privacy":
            return web.Response(text=privacy_page, content_type="text/html", charset="utf-8")
        if request.path == "/widget/privacy.json":
            # Any site embedding the widget may read it (it says nothing private).
            return web.Response(
                text=privacy_json,
                content_type="application/json",
                headers={"Access-Control-Allow-Origin": "*"},
            )
        path = allowed.get(request.path)
        if path is None:
            raise web.HTTPNotFound(text="Not found")
        content_type = _CONTENT_TYPES[path.suffix]
        if content_type.startswith("text/"):
            return web.Response(body=path.read_bytes(), content_type=content_type, charset="utf-8")
        return web.Response(body=path.read_bytes(), content_type=content_type)

    app = web.Application()
    # Every response, errors included. (aiohttp 3.9 types this signal's callbacks wrongly.)
    app.on_response_prepare.append(add_headers)  # type: ignore[arg-type]
    app.router.add_get("/{path:.*}", handle)
    return app


def run(port: int = DEFAULT_PORT, config: PageConfig | None = None) -> int:
    """`python -m bot web`: serve the careers page on 127.0.0.1 until interrupted."""
    config = config or PageConfig()
    try:
        app = create_app(config)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"The careers page is on http://{HOST}:{port}/ (chat widget -> {config.rasa_origin})",
        flush=True,
    )
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)
    return 0
