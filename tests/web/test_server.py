"""The careers page server (bot/web/server.py): allow-list, security headers, escaped config."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.settings import PrivacySettings
from bot.web import server
from bot.web.server import PageConfig

RASA = "http://127.0.0.1:5005"


@pytest.fixture
async def page_server() -> AsyncIterator[TestServer]:
    test_server = TestServer(server.create_app(PageConfig(rasa_url=RASA)), host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def get(
    test_server: TestServer, raw_path: str, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """Request a path exactly as written (no client-side normalisation of `..` or `%2e`)."""
    url = URL(f"http://127.0.0.1:{test_server.port}{raw_path}", encoded=True)
    async with ClientSession() as session, session.request(method, url) as response:
        return response.status, dict(response.headers), await response.read()


async def test_the_page_and_each_allowed_file_are_served(page_server: TestServer) -> None:
    status, headers, body = await get(page_server, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="/widget/careers-chat.js" defer' in body
    for path, file in server.files().items():
        status, headers, body = await get(page_server, path)
        assert status == 200, path
        assert body == file.read_bytes(), path
    _, headers, _ = await get(page_server, "/widget/careers-chat.js")
    assert headers["Content-Type"] == "text/javascript; charset=utf-8"
    _, headers, _ = await get(page_server, "/nhsuk/nhsuk.css")
    assert headers["Content-Type"] == "text/css; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "/index.html",
        "/static/index.html",
        "/widget/",
        "/widget",
        "/widget/careers-chat.js/",
        "/widget/../server.py",
        "/widget/%2e%2e/%2e%2e/server.py",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/widget/..%5c..%5cserver.py",
        "//etc/passwd",
        "/node_modules/socket.io-client/package.json",
        "/nhsuk/assets/images/nhsuk-icon-user.svg",
        "/favicon.ico/",
        "/widget/careers-chat.js%00.css",
    ],
)
async def test_anything_not_on_the_allow_list_is_404(page_server: TestServer, path: str) -> None:
    status, headers, body = await get(page_server, path)
    assert status == 404
    assert b"root:" not in body and b"import" not in body
    assert "Content-Security-Policy" in headers


async def test_only_get_and_head(page_server: TestServer) -> None:
    assert (await get(page_server, "/", "HEAD"))[0] == 200
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = await get(page_server, "/", method)
        assert status == 405
        assert headers["X-Content-Type-Options"] == "nosniff"


async def test_security_headers_on_every_response(page_server: TestServer) -> None:
    for path in ["/", "/widget/careers-chat.js", "/nhsuk/nhsuk.css", "/nope"]:
        _, headers, _ = await get(page_server, path)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"
        csp = dict(
            directive.strip().split(" ", 1)
            for directive in headers["Content-Security-Policy"].split(";")
        )
        assert csp == {
            "default-src": "'none'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self'",
            "font-src": "'self'",
            "connect-src": "'self' http://127.0.0.1:5005 ws://127.0.0.1:5005",
            "base-uri": "'none'",
            "form-action": "'none'",
            "frame-ancestors": "'none'",
        }


def test_the_csp_follows_the_configured_rasa_origin() -> None:
    assert "connect-src 'self' https://chat.example.org wss://chat.example.org;" in (
        server.content_security_policy(server.origin_of("https://chat.example.org/"))
    )
    assert server.origin_of("http://127.0.0.1:49152") == "http://127.0.0.1:49152"
    assert server.origin_of("http://[::1]:5005") == "http://[::1]:5005"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "127.0.0.1:5005",
        "javascript:alert(1)",
        "ftp://127.0.0.1",
        "http://",
        "http://user:pw@127.0.0.1:5005",
        "http://127.0.0.1:5005/path",
        "http://127.0.0.1:5005?q=1",
        "http://127.0.0.1:5005#x",
        "http://127.0.0.1:99999",
        "http://evil.org; script-src *",
        "http://a.org\r\nSet-Cookie: x=1",
        'http://a.org"><script>',
    ],
)
def test_a_rasa_url_that_is_not_an_origin_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        server.origin_of(url)
    with pytest.raises(ValueError):
        server.create_app(PageConfig(rasa_url=url))


class _ScriptTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append(dict(attrs))


def test_the_config_is_escaped_into_the_page() -> None:
    hostile = "\"><script>alert(1)</script><img src=x onerror=alert(2)> & 'quotes'"
    page = server.render_page(
        PageConfig(title=hostile, opening_message=hostile),
        (server.STATIC_DIR / "index.html").read_text(),
    )
    parser = _ScriptTags()
    parser.feed(page)
    assert len(parser.scripts) == 1  # the widget's, and no other
    widget = parser.scripts[0]
    assert widget["src"] == "/widget/careers-chat.js"
    assert widget["data-title"] == hostile  # the attribute holds the text, unchanged
    assert widget["data-opening-message"] == hostile
    assert widget["data-server-url"] == "http://127.0.0.1:5005"
    assert "img" not in parser.tags
    assert f"<title>Radiography support careers - {html.escape(hostile)}</title>" in page
    assert "<script>alert" not in page


def test_the_page_has_no_inline_script_or_style_and_names_no_other_host() -> None:
    page = (server.STATIC_DIR / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page and " style=" not in page
    urls = re.findall(r"(?:src|href)=\"([^\"]*)\"", page)
    assert urls and all(url.startswith(("/", "#", "{{")) for url in urls)


def test_missing_npm_files_fail_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(server, "NODE_MODULES", tmp_path / "node_modules")
    with pytest.raises(FileNotFoundError, match="make npm"):
        server.create_app(PageConfig())


async def test_the_privacy_notice_says_what_is_kept_and_marks_what_is_not_set(
    page_server: TestServer,
) -> None:
    status, headers, body = await get(page_server, "/privacy")
    page = body.decode()
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Security-Policy" in headers
    assert '<strong id="retention">30 days</strong>' in page
    assert 'id="privacy-incomplete"' in page  # the placeholder is there for all to see
    assert "[operator not set: PRIVACY_OPERATOR_NAME]" in page
    assert "[contact not set: PRIVACY_CONTACT]" in page
    for said in ("masked", "pseudonym", "careers team", "delete my conversation", "Download"):
        assert said in page, said
    assert not re.search(r"<script", page) and " style=" not in page
    urls = re.findall(r"(?:src|href)=\"([^\"]*)\"", page)
    assert urls and all(url.startswith(("/", "#")) for url in urls)  # nothing from elsewhere


def test_the_privacy_notice_names_the_operator_from_the_settings() -> None:
    privacy = PrivacySettings(
        retention_days=7,
        audit_retention_days=90,
        operator_name="NHS Example <Trust>",
        operator_contact="ig@example.nhs.uk",
        dpo_contact="dpo@example.nhs.uk",
    )
    page = server.render_privacy(PageConfig(privacy=privacy))
    assert 'id="privacy-incomplete"' not in page and "not set" not in page
    assert '<strong id="operator">NHS Example &lt;Trust&gt;</strong>' in page
    assert '<strong id="contact">ig@example.nhs.uk</strong>' in page
    assert '<strong id="dpo">dpo@example.nhs.uk</strong>' in page
    assert '<strong id="retention">7 days</strong>' in page
    assert "kept for 90 days" in page


async def test_the_widget_reads_the_period_from_the_server(page_server: TestServer) -> None:
    status, headers, body = await get(page_server, "/widget/privacy.json")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"  # a site embedding the widget
    assert json.loads(body) == {"retention_days": 30, "privacy_url": "/privacy", "operator": None}
    config = PageConfig(
        privacy=PrivacySettings(retention_days=14, privacy_url="https://x.nhs.uk/p")
    )
    assert server.widget_privacy(config)["retention_days"] == 14
    assert server.widget_privacy(config)["privacy_url"] == "https://x.nhs.uk/p"
