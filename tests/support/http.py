"""The one HTTP client of the tests: any status comes back as a Reply, nothing is raised.

Only 127.0.0.1 is ever asked: a test that would send a request anywhere else fails.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from bot.channels.replies import APOLOGY

WEBHOOK = "/webhooks/rest/webhook"


@dataclass(frozen=True)
class Reply:
    """A response: its status (0 when the connection failed), headers and body as text."""

    status: int
    headers: list[tuple[str, str]]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The REST channel's bot messages, whatever the status (a 503 carries the apology);
        [] for a body that is not a list of them."""
        try:
            data = self.json()
        except ValueError:
            return []
        return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []

    @property
    def texts(self) -> list[str]:
        return [m.get("text", "") for m in self.messages]

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    @property
    def answered(self) -> bool:
        """A 200 with at least one bot message that is not the apology."""
        return self.status == 200 and bool(self.texts) and APOLOGY not in self.texts

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


def request(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
) -> Reply:
    """One HTTP request to `url` (http://127.0.0.1:port/path?query)."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1", f"tests only send traffic to 127.0.0.1, not {url}"
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read().decode(errors="replace")
        return Reply(response.status, response.getheaders(), content)
    except (ConnectionError, http.client.HTTPException, TimeoutError) as error:
        return Reply(0, [], repr(error))
    finally:
        connection.close()


def get(url: str, timeout: float = 60) -> Reply:
    return request(url, timeout=timeout)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 120) -> Reply:
    return request(url, "POST", body, headers, timeout=timeout)


def post_json(url: str, data: Any, timeout: float = 120) -> Reply:
    body = json.dumps(data).encode()
    return post(url, body, {"Content-Type": "application/json"}, timeout=timeout)


def post_raw(base_url: str, body: bytes, path: str = WEBHOOK, timeout: float = 120) -> Reply:
    """Any bytes, sent as JSON to the REST webhook (or `path`) of the server at `base_url`."""
    return post(base_url + path, body, {"Content-Type": "application/json"}, timeout)


def say(base_url: str, sender: str, message: str, timeout: float = 120) -> Reply:
    """One message to the REST channel of the assistant at `base_url`."""
    return post_json(base_url + WEBHOOK, {"sender": sender, "message": message}, timeout)


class Conversation:
    """One user talking to the REST channel; each message must get a 200."""

    def __init__(self, base_url: str, sender: str) -> None:
        self.base_url = base_url
        self.sender = sender

    def say(self, message: str) -> list[dict[str, Any]]:
        reply = say(self.base_url, self.sender, message)
        assert reply.status == 200, reply
        return reply.messages

    def text(self, message: str) -> str:
        return "\n\n".join(m.get("text", "") for m in self.say(message))
