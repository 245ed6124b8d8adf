"""A Rasa instance dies mid-run: nginx sends the rest to the other, nothing stored is lost."""

from __future__ import annotations

import threading
import uuid

from bot.channels.replies import APOLOGY
from bot.prod.cluster import Cluster
from tests.support.cluster import (
    check_well_formed,
    engine,
    stored_events,
    user_texts,
    whole_again,
)
from tests.support.load import MESSAGES, converse

CONVERSATIONS = 20


def test_killing_an_instance_mid_run_loses_only_the_requests_in_flight(cluster: Cluster) -> None:
    run_id = uuid.uuid4().hex[:8]
    senders = [f"failover-{run_id}-{n}" for n in range(CONVERSATIONS)]
    total = CONVERSATIONS * len(MESSAGES)
    replies_so_far = 0
    killed = threading.Event()
    victim = cluster.rasa[1]

    def kill_a_quarter_of_the_way() -> None:
        nonlocal replies_so_far
        replies_so_far += 1
        if replies_so_far == total // 4:
            victim.kill()  # SIGKILL: no clean shutdown, requests in flight are cut
            killed.set()

    try:
        run = converse(cluster.public_url, senders, on_reply=kill_a_quarter_of_the_way)
    finally:
        whole_again(cluster)

    assert killed.is_set()
    failed = [reply for reply in run.replies if not reply.answered]
    # At most the one request each conversation had in flight; the client sees it fail, with
    # nginx's apology (no instance answered it), not a hang or an empty 200.
    assert len(failed) <= CONVERSATIONS
    for reply in failed:
        assert reply.status == 503, reply
        assert reply.texts == [APOLOGY]
    db = engine(cluster)
    for sent in run.conversations:
        assert len(sent.failed) <= 1, (sent.sender, sent.failed)
        assert sent.replies[-1][1].answered, "the conversation did not carry on"
        stored = user_texts(stored_events(db, sent.sender))
        # Every answered message stored once, in order; a failed one at most once, in place.
        expected = [m for m in MESSAGES if m in sent.answered or (m in sent.failed and m in stored)]
        assert stored == expected, sent.sender
        check_well_formed(stored_events(db, sent.sender))
