"""Talking to the profile over HTTP, and reading what it stored in PostgreSQL."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.channels.conversations import REST, conversation_id
from bot.channels.replies import APOLOGY
from bot.db import make_engine
from bot.prod.cluster import Cluster
from bot.tracking.identity import pseudonym

WEBHOOK = "/webhooks/rest/webhook"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def texts(self) -> list[str]:
        data = self.json()
        return [m.get("text", "") for m in data] if isinstance(data, list) else []

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
    base_url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 120,
) -> Reply:
    """One HTTP request; any status is a Reply, a failed connection is status 0."""
    parts = urllib.parse.urlsplit(base_url)
    assert parts.hostname == "127.0.0.1", "tests only send traffic to 127.0.0.1"
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    except (ConnectionError, http.client.HTTPException, TimeoutError) as error:
        return Reply(0, [], repr(error).encode())
    finally:
        connection.close()


def post_raw(base_url: str, body: bytes, path: str = WEBHOOK, timeout: float = 120) -> Reply:
    return request(
        base_url, "POST", path, body, {"Content-Type": "application/json"}, timeout=timeout
    )


def say(base_url: str, sender: str, message: str, timeout: float = 120) -> Reply:
    body = json.dumps({"sender": sender, "message": message}).encode()
    return post_raw(base_url, body, timeout=timeout)


def wait_until(cluster: Cluster, timeout: float = 120, message: str = "hello") -> Reply:
    """Ask through nginx until an answer comes (bounded): service has resumed."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        reply = say(cluster.public_url, f"probe-{time.monotonic_ns()}", message, timeout=30)
        if reply.answered or time.monotonic() > deadline:
            return reply
        time.sleep(min(0.5 * attempt, 3))


def engine(cluster: Cluster) -> Engine:
    return make_engine(cluster.tracker_store_url)


@dataclass(frozen=True)
class Stored:
    id: int
    type_name: str
    timestamp: float
    data: dict[str, Any]


def stored_events(db: Engine, sender: str) -> list[Stored]:
    """Rasa's `events` rows for one REST sender's conversation ("rest:<sender>", stored under
    its pseudonym), in the order they were inserted."""
    with db.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT id, type_name, timestamp, data FROM events "
                "WHERE sender_id = :sender ORDER BY id"
            ),
            {"sender": pseudonym(conversation_id(REST, sender))},
        ).all()
    return [Stored(r.id, r.type_name, r.timestamp, json.loads(r.data)) for r in rows]


def user_texts(events: list[Stored]) -> list[str]:
    return [e.data.get("text") or "" for e in events if e.type_name == "user"]


def check_well_formed(events: list[Stored]) -> None:
    """One conversation's log: one session start, time never going back, no event twice,
    and every user message followed by the assistant's turn before the next one."""
    assert events, "nothing stored"
    assert [e.type_name for e in events].count("session_started") == 1
    timestamps = [e.timestamp for e in events]
    assert timestamps == sorted(timestamps), "events stored out of order"
    message_ids = [e.data.get("message_id") for e in events if e.type_name == "user"]
    assert len(set(message_ids)) == len(message_ids), "a user message was stored twice"
    kinds = [e.type_name for e in events]
    for position, kind in enumerate(kinds):
        if kind == "user":
            following = kinds[position + 1 :]
            nxt = following.index("user") if "user" in following else len(following)
            assert "bot" in following[:nxt], f"user message {position} has no reply stored"


def access_log_size(cluster: Cluster) -> int:
    return _access_log(cluster).stat().st_size


def served_by(cluster: Cluster, since: int, path: str = WEBHOOK) -> dict[str, int]:
    """How many requests for `path` each Rasa instance answered, from nginx's log after `since`."""
    counts = {f"127.0.0.1:{port}": 0 for port in cluster.layout.rasa}
    with _access_log(cluster).open() as log:
        log.seek(since)
        for line in log:
            if f" {path} " not in line or "upstream=" not in line:
                continue
            upstream = line.split("upstream=", 1)[1].split(" upstream_status=", 1)[0]
            last = upstream.split(",")[-1].strip()
            if last in counts:
                counts[last] += 1
    return counts


def _access_log(cluster: Cluster) -> Path:
    assert cluster.nginx_config is not None
    return cluster.nginx_config.access_log
