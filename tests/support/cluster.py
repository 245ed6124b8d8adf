"""The production profile in tests: waiting for it to answer, reading what it stored in
PostgreSQL, and which instance nginx sent each request to."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.channels.conversations import REST, conversation_id
from bot.db import make_engine
from bot.prod.cluster import Cluster
from bot.tracking.identity import pseudonym
from tests.support.http import WEBHOOK, Reply, say
from tests.support.servers import ARTIFACTS as ALL_ARTIFACTS

# One folder per test session: another session may run at the same time (they share nothing
# else: every port is free when taken, every data folder is new).
SESSION = f"{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}"
ARTIFACTS = ALL_ARTIFACTS / "logs" / "scale" / SESSION
API_TOKEN = secrets.token_hex(32)
# Everyone is 127.0.0.1 here: the load tests must not be rate limited (test_hostile checks
# the limit on an nginx of its own). A crashed instance's ticket lock expires after 20 s
# (Rasa's default is 60 s), so the fail-over test does not wait a minute.
SCALE_ENV = {"RATE_LIMIT": "100000", "RATE_BURST": "100000", "RASA_API_TOKEN": API_TOKEN}
LOCK_LIFETIME = "20"


def whole_again(cluster: Cluster) -> None:
    """Start whatever a test stopped, and wait until the profile answers through nginx."""
    parts = [cluster.postgres.service if cluster.postgres else None, cluster.redis]
    parts += [*cluster.actions, *cluster.rasa, cluster.web, cluster.nginx]
    for service in parts:
        if service is not None and not service.running:
            service.start()
    wait_until(cluster, timeout=120)


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


def check_well_formed(events: list[Stored], sessions: int = 1) -> None:
    """One conversation's log: `sessions` session starts, time never going back, no event
    twice, and every user message followed by the assistant's turn before the next one."""
    assert events, "nothing stored"
    assert [e.type_name for e in events].count("session_started") == sessions
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
    """How many requests for `path` (with any query) each Rasa instance answered, from nginx's
    log after `since`."""
    counts = {f"127.0.0.1:{port}": 0 for port in cluster.layout.rasa}
    with _access_log(cluster).open() as log:
        log.seek(since)
        for line in log:
            asked = f" {path} " in line or f" {path}?" in line
            if not asked or "upstream=" not in line:
                continue
            upstream = line.split("upstream=", 1)[1].split(" upstream_status=", 1)[0]
            last = upstream.split(",")[-1].strip()
            if last in counts:
                counts[last] += 1
    return counts


def _access_log(cluster: Cluster) -> Path:
    assert cluster.nginx_config is not None
    return cluster.nginx_config.access_log
