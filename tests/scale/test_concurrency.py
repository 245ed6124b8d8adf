"""Two Rasa instances behind nginx, sharing PostgreSQL and Redis, under many conversations."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from bot.prod.cluster import Cluster
from tests.support.cluster import (
    access_log_size,
    check_well_formed,
    engine,
    served_by,
    stored_events,
    user_texts,
)
from tests.support.http import Reply, say
from tests.support.load import MESSAGES, converse

CONVERSATIONS = 50


def at_once(barrier: threading.Barrier, url: str, sender: str, message: str) -> Reply:
    barrier.wait(timeout=30)
    return say(url, sender, message)


def test_fifty_conversations_at_once_are_answered_and_stored_once_in_order(
    cluster: Cluster,
) -> None:
    run_id = uuid.uuid4().hex[:8]
    senders = [f"load-{run_id}-{n}" for n in range(CONVERSATIONS)]
    log_start = access_log_size(cluster)

    run = converse(cluster.public_url, senders)

    unanswered = [
        (sent.sender, message, reply.status, reply.body[:200])
        for sent in run.conversations
        for message, reply in sent.replies
        if not reply.answered
    ]
    assert unanswered == []
    assert len(run.replies) == CONVERSATIONS * len(MESSAGES)
    db = engine(cluster)
    for sent in run.conversations:
        events = stored_events(db, sent.sender)
        assert user_texts(events) == MESSAGES, sent.sender
        check_well_formed(events)
    # Both instances took a fair part of the load.
    served = served_by(cluster, log_start)
    assert min(served.values()) >= 0.25 * len(run.replies), served


def test_one_conversation_on_both_instances_at_once_is_handled_one_message_at_a_time(
    cluster: Cluster,
) -> None:
    """Two messages of one conversation sent at the same moment, one to each instance (a
    double click behind a load balancer): both are handled one after the other, stored once,
    each with its reply. (The race in stock Rasa's lock that this relies on being fixed is
    too narrow to hit reliably end to end: tests/scale/test_locks.py shows it directly.)"""
    sender = f"double-{uuid.uuid4().hex[:8]}"
    pairs = [("hello", "what can you do?"), ("what does an assistant practitioner do?", "thanks")]
    sent: list[str] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for first, second in pairs * 4:
            barrier = threading.Barrier(2)
            replies = [
                pool.submit(at_once, barrier, cluster.rasa_url(0), sender, first),
                pool.submit(at_once, barrier, cluster.rasa_url(1), sender, second),
            ]
            assert [reply.result(timeout=180).answered for reply in replies] == [True, True]
            sent += [first, second]
    events = stored_events(engine(cluster), sender)
    stored = user_texts(events)
    assert sorted(stored) == sorted(sent)
    for round_start in range(0, len(sent), 2):  # each round's pair, in either order
        assert sorted(stored[round_start : round_start + 2]) == sorted(
            sent[round_start : round_start + 2]
        )
    check_well_formed(events)
