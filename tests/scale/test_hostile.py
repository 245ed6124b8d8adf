"""Hostile input at the front door: the API token, size limits, malformed JSON, the rate
limit and the security headers, through nginx and at the Rasa instances themselves."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.channels.replies import APOLOGY
from bot.channels.rest import too_long_reply
from bot.prod import nginx
from bot.prod.cluster import Cluster, Layout, nginx_config, nginx_service
from bot.settings import Settings
from tests.support.cluster import (
    API_TOKEN,
    ARTIFACTS,
    access_log_size,
    engine,
    served_by,
    stored_events,
    user_texts,
)
from tests.support.http import WEBHOOK, Reply, post_raw, request, say
from tests.support.servers import free_port
from tests.support.sockets import Client

SECURITY_HEADERS = [
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Content-Security-Policy",
]


def assert_security_headers(reply: Reply) -> None:
    for name in SECURITY_HEADERS:
        assert len(reply.header_values(name)) == 1, (name, reply.status, reply.headers)
    assert reply.header_values("X-Content-Type-Options") == ["nosniff"]
    assert reply.header_values("X-Frame-Options") == ["DENY"]
    assert "frame-ancestors 'none'" in reply.header_values("Content-Security-Policy")[0]


# --- the Rasa HTTP API ---------------------------------------------------------------------


def test_the_http_api_needs_the_token(cluster: Cluster) -> None:
    instance = cluster.rasa_url(0)
    assert request(instance + "/status").status == 401
    assert request(instance + "/status?token=" + "0" * 64).status == 401
    assert request(instance + "/conversations/x/tracker").status == 401
    assert request(instance + f"/status?token={API_TOKEN}").status == 200
    # nginx does not route the API at all: it is for operators on the instances' ports.
    through_nginx = request(cluster.public_url + f"/status?token={API_TOKEN}")
    assert through_nginx.status == 404
    # The token is in no command line (`ps` shows those to everyone on the machine).
    for service in cluster.rasa:
        assert service.process is not None
        command_line = Path(f"/proc/{service.process.pid}/cmdline").read_bytes()
        assert b"bot.rasa_command\x00run" in command_line
        assert API_TOKEN.encode() not in command_line


# --- sizes ---------------------------------------------------------------------------------


def test_an_over_long_message_gets_a_polite_reply_and_is_not_handled(cluster: Cluster) -> None:
    sender = f"long-{uuid.uuid4().hex[:8]}"
    reply = say(cluster.public_url, sender, "what does an AP do? " * 101)  # 2,020 characters
    assert reply.status == 200
    assert reply.texts == [too_long_reply(2000)]
    assert stored_events(engine(cluster), sender) == []  # never reached NLU or the log


def test_a_message_at_the_limit_is_handled(cluster: Cluster) -> None:
    reply = say(cluster.public_url, f"limit-{uuid.uuid4().hex[:8]}", "a" * 2000)
    assert reply.answered
    assert reply.texts != [too_long_reply(2000)]


@pytest.mark.parametrize("where", ["nginx", "instance"])
def test_an_oversized_body_is_413(cluster: Cluster, where: str) -> None:
    url = cluster.public_url if where == "nginx" else cluster.rasa_url(0)
    message = "x" * (64 * 1024)
    body = json.dumps({"sender": "big", "message": message}).encode()
    reply = post_raw(url, body)
    assert reply.status == 413
    if where == "nginx":
        assert_security_headers(reply)


# --- malformed requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b"null",
        b'"hello"',
        b"\xff\xfe\x00",
        b"[" * 5000 + b"]" * 5000,
        b'{"message": "hi"}',
        b'{"sender": "a"}',
        b'{"sender": 1, "message": "hi"}',
        b'{"sender": "a", "message": {"text": "hi"}}',
        b'{"sender": "", "message": "hi"}',
        b'{"sender": "a\\u0000b", "message": "hi"}',
        json.dumps({"sender": "s" * 129, "message": "hi"}).encode(),
        b'{"sender": "a", "message": "hi", "metadata": [1]}',
    ],
)
def test_a_malformed_request_is_a_400(cluster: Cluster, body: bytes) -> None:
    reply = post_raw(cluster.public_url, body)
    assert reply.status == 400, reply
    assert "error" in reply.json()
    assert_security_headers(reply)


def test_control_characters_are_dropped_not_stored(cluster: Cluster) -> None:
    """PostgreSQL refuses a NUL in text, so the turn could not be stored: it is dropped."""
    sender = f"nul-{uuid.uuid4().hex[:8]}"
    reply = say(cluster.public_url, sender, "hello\x00 there\x07 \ud800")
    assert reply.answered
    assert user_texts(stored_events(engine(cluster), sender)) == ["hello there"]


# --- headers, rate limit, no instance ------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "served_by"),
    [
        ("GET", "/", None, "page"),
        ("GET", "/widget/careers-chat.js", None, "page"),
        ("GET", "/no-such-page", None, "page"),
        ("GET", "/webhooks/rest/", None, "rasa"),
        ("POST", WEBHOOK, json.dumps({"sender": "headers", "message": "hello"}).encode(), "rasa"),
        ("GET", "/socket.io/?EIO=4&transport=polling", None, "rasa"),
    ],
)
def test_every_response_has_the_security_headers(
    cluster: Cluster, method: str, path: str, body: bytes | None, served_by: str
) -> None:
    reply = request(cluster.public_url + path, method, body)
    assert reply.status in (200, 404), reply
    assert_security_headers(reply)
    csp = reply.header_values("Content-Security-Policy")[0]
    if served_by == "page":  # the page server's own CSP, made for its scripts and the chat
        assert "script-src 'self'" in csp
        assert f"connect-src 'self' {cluster.public_url}" in csp
    else:  # JSON from Rasa: nginx's CSP, which lets nothing load
        assert csp == nginx.DEFAULT_CSP


StartNginx = Callable[[nginx.NginxConfig], str]


def extra_nginx_config(settings: Settings, layout: Layout, cluster: Cluster) -> nginx.NginxConfig:
    name = f"nginx-{layout.public}"
    return nginx_config(settings, layout, cluster.workdir / name, log_dir=ARTIFACTS, name=name)


@pytest.fixture
def another_nginx() -> Iterator[StartNginx]:
    """Start more nginx servers, with configurations of the test's own; stopped at the end."""
    started = []

    def start(config: nginx.NginxConfig) -> str:
        service = nginx_service(config)
        started.append(service)
        service.start()
        return f"http://127.0.0.1:{config.public_port}"

    yield start
    for service in started:
        service.stop()


def test_the_rate_limit_is_per_client_address(
    cluster: Cluster, settings: Settings, another_nginx: StartNginx
) -> None:
    limited = replace(settings, serving=replace(settings.serving, rate_limit=2, rate_burst=3))
    layout = replace(cluster.layout, public=free_port(), actions_proxy=free_port())
    url = another_nginx(extra_nginx_config(limited, layout, cluster))
    replies = [request(url + "/webhooks/rest/") for _ in range(20)]
    statuses = [reply.status for reply in replies]
    assert statuses[:4] == [200] * 4  # the burst
    assert statuses.count(429) >= 10
    for reply in replies:
        assert_security_headers(reply)
    # The page is not behind the chat limit.
    assert request(url + "/").status == 200


def test_no_instance_answering_gets_the_apology_from_nginx(
    cluster: Cluster, settings: Settings, another_nginx: StartNginx
) -> None:
    nobody = (free_port(), free_port())
    layout = replace(cluster.layout, public=free_port(), actions_proxy=free_port(), rasa=nobody)
    url = another_nginx(extra_nginx_config(settings, layout, cluster))
    reply = say(url, "nobody", "hello")
    assert reply.status == 503
    assert reply.texts == [APOLOGY]
    assert reply.header_values("Retry-After") == ["30"]
    assert_security_headers(reply)


def test_socketio_conversations_stay_on_one_instance(cluster: Cluster) -> None:
    """Long-polling is many requests per session; nginx keeps a client on one instance."""
    since = access_log_size(cluster)

    async def chat() -> list[str]:
        client = Client()
        await client.start(cluster.public_url)
        try:
            first = await client.ask(
                "what does an assistant practitioner do?", "What assistant practitioners do:"
            )
            second = await client.ask("how do they get accredited?", "Accreditation for")
        finally:
            await client.stop()
        return first + second

    texts = asyncio.run(chat())
    assert any(t.startswith("Accreditation for assistant practitioners:") for t in texts)
    served = served_by(cluster, since, "/socket.io/")
    assert sum(served.values()) >= 4, served  # the handshake, the session, two questions
    assert sorted(served.values())[:-1] == [0] * (len(served) - 1), served  # one instance
