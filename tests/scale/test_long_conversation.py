"""One long conversation sent to both Rasa instances in turn (PostgreSQL and Redis shared):
each instance's cached tracker sees what the other stored, a session that ends after its
turns keeps the conversation's context, and the log keeps every event."""

from __future__ import annotations

import uuid

from bot.prod.cluster import Cluster
from bot.rasa_compat import MESSAGES_BEFORE
from bot.settings import ServingSettings
from tests.support.cluster import check_well_formed, engine, stored_events, user_texts
from tests.support.http import say
from tests.support.load import MESSAGES

TURNS = ServingSettings().session_max_turns


def test_a_long_conversation_on_both_instances_keeps_its_context_and_every_event(
    cluster: Cluster,
) -> None:
    sender = f"long-{uuid.uuid4().hex[:8]}"
    # The last message of the first session names a role; the first of the next asks about
    # "them", on the other instance.
    sent = [MESSAGES[n % len(MESSAGES)] for n in range(TURNS - 1)]
    sent += ["what does an assistant practitioner do?", "how do they get accredited?"]
    sent += [MESSAGES[n % len(MESSAGES)] for n in range(2 * TURNS + 5 - len(sent))]
    texts = []
    for number, message in enumerate(sent):
        reply = say(cluster.rasa_url(number % 2), sender, message)
        assert reply.answered, (number, message, reply)
        texts.append("\n\n".join(m.get("text", "") for m in reply.messages))
    assert texts[TURNS].startswith("Accreditation for assistant practitioners:"), texts[TURNS]
    events = stored_events(engine(cluster), sender)
    assert user_texts(events) == sent
    check_well_formed(events, sessions=3)
    # Each session its turns started records the messages before it, for the message limit.
    starts = [e.data["metadata"] for e in events if e.type_name == "session_started"]
    assert [start.get(MESSAGES_BEFORE) for start in starts] == [None, TURNS, 2 * TURNS]
