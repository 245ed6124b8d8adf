"""The socket.io channel applies the REST channel's limits (issue 14, item 1).

Type checks, the 2,000-character limit with the same polite reply, control characters dropped,
a per-connection message rate, session ids issued by the server (never chosen by the client),
and engine.io's buffer at the REST body limit, so a 900 kB message is refused before it reaches
the assistant while the server goes on answering everyone else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio
from rasa.core.channels.channel import UserMessage

from bot import serve
from bot.channels.rest import too_long_reply
from bot.channels.socketio import BURST, TOO_FAST, MessageRate, SessionIds, SocketIOInput
from bot.settings import get_settings
from tests.support.logs import ConversationLog
from tests.support.sockets import TIMEOUT, Client

LIMIT = get_settings().serving.max_message_length


@dataclass
class Harness:
    """Our channel's handlers, called directly, with what they emit and pass on recorded."""

    sio: socketio.AsyncServer
    session_ids: SessionIds
    received: list[UserMessage] = field(default_factory=list)
    emitted: list[tuple[str, Any, Any]] = field(default_factory=list)

    async def call(self, event: str, sid: str, data: Any) -> None:
        await self.sio.handlers["/"][event](sid, data)

    def connect(self) -> str:
        return self.sio.manager.connect(f"eio-{len(self.emitted)}-{id(object())}", "/")

    async def session(self, requested: Any = None) -> tuple[str, str]:
        """A connected socket that asked for a session: (socket id, session id confirmed)."""
        sid = self.connect()
        await self.call("session_request", sid, {"session_id": requested})
        event, session_id, room = self.emitted[-1]
        assert (event, room) == ("session_confirm", sid)
        return sid, session_id

    def replies(self, sid: str) -> list[str]:
        return [
            data["text"]
            for event, data, room in self.emitted
            if event == "bot_uttered" and room == sid
        ]


@pytest.fixture
def harness() -> Harness:
    channel = SocketIOInput(session_persistence=True)
    channel.session_ids = SessionIds(b"test key " * 4)
    found = Harness(sio=socketio.AsyncServer(), session_ids=channel.session_ids)

    async def on_new_message(message: UserMessage) -> None:
        found.received.append(message)

    channel.blueprint(on_new_message)
    assert channel.sio is not None
    found.sio = channel.sio

    async def emit(event: str, data: Any = None, room: Any = None, **_: Any) -> None:
        found.emitted.append((event, data, room))

    found.sio.emit = emit
    return found


def web_conversation(session_id: str) -> str:
    return "web:" + session_id.partition(".")[0]


# --- session ids come from the server ---------------------------------------------------
@pytest.mark.parametrize(
    "requested",
    [None, "", "s-1", "+447700900123", "a" * 32, "a" * 32 + "." + "b" * 32, ["x"], 42],
)
async def test_a_session_id_the_client_made_up_is_replaced_by_a_new_one(
    harness: Harness, requested: Any
) -> None:
    sid, session_id = await harness.session(requested)
    assert session_id != requested
    assert harness.session_ids.conversation(session_id) == web_conversation(session_id)
    await harness.call("user_uttered", sid, {"message": "hi", "session_id": requested})
    [message] = harness.received
    assert message.sender_id == web_conversation(session_id)
    assert message.input_channel == "socketio"


async def test_a_session_id_the_server_issued_is_resumed(harness: Harness) -> None:
    _, first = await harness.session()
    sid, again = await harness.session(first)
    assert again == first
    await harness.call("user_uttered", sid, {"message": "hi"})
    assert harness.received[0].sender_id == web_conversation(first)


async def test_the_session_id_in_a_message_is_not_the_conversation(harness: Harness) -> None:
    """The conversation is the socket's session, whatever session_id the message names."""
    _, other = await harness.session()
    sid, mine = await harness.session()
    await harness.call("user_uttered", sid, {"message": "hi", "session_id": other})
    assert [m.sender_id for m in harness.received] == [web_conversation(mine)]


async def test_a_message_before_a_session_request_is_ignored(harness: Harness) -> None:
    await harness.call("user_uttered", harness.connect(), {"message": "hi", "session_id": "x"})
    assert harness.received == []


def test_session_ids_are_random_and_signed() -> None:
    ids = SessionIds(b"key")
    first, second = ids.new(), ids.new()
    assert first != second
    assert ids.conversation(first) is not None
    assert SessionIds(b"another key").conversation(first) is None
    random_id, _, signature = first.partition(".")
    tampered = signature[:-1] + ("1" if signature.endswith("0") else "0")
    assert ids.conversation(f"{random_id}.{tampered}") is None
    assert ids.conversation(f"{random_id}.") is None
    assert ids.conversation(f"{random_id.upper()}.{signature}") is None


# --- what a message may be ----------------------------------------------------------------
@pytest.mark.parametrize(
    "data", [None, "hello", ["hello"], {}, {"message": None}, {"message": 42}, {"text": "hi"}]
)
async def test_a_message_that_is_not_text_is_dropped(harness: Harness, data: Any) -> None:
    sid, _ = await harness.session()
    await harness.call("user_uttered", sid, data)
    assert harness.received == []


async def test_a_message_over_the_limit_gets_the_rest_channels_polite_reply(
    harness: Harness,
) -> None:
    sid, _ = await harness.session()
    await harness.call("user_uttered", sid, {"message": "x" * (LIMIT + 1)})
    assert harness.received == []
    assert harness.replies(sid) == [too_long_reply(LIMIT)]
    assert harness.emitted[-1][2] == sid  # to this connection only
    await harness.call("user_uttered", sid, {"message": "x" * LIMIT})
    assert len(harness.received) == 1


async def test_control_characters_are_dropped(harness: Harness) -> None:
    sid, _ = await harness.session()
    await harness.call("user_uttered", sid, {"message": "what\x00 does\x07 an AP\tdo?\ud800"})
    await harness.call("user_uttered", sid, {"message": "\x00\x01"})  # nothing left
    assert [m.text for m in harness.received] == ["what does an AP\tdo?"]


@pytest.mark.parametrize(
    ("metadata", "kept"),
    [({"a": 1}, {"a": 1}), ('{"a": 1}', {"a": 1}), ("{not json", None), ([1], None), (3, None)],
)
async def test_metadata_must_be_an_object(harness: Harness, metadata: Any, kept: Any) -> None:
    sid, _ = await harness.session()
    await harness.call("user_uttered", sid, {"message": "hi", "metadata": metadata})
    assert harness.received[0].metadata == kept


async def test_a_connection_sending_too_fast_is_told_to_slow_down(harness: Harness) -> None:
    sid, _ = await harness.session()
    other, _ = await harness.session()
    for number in range(BURST + 2):
        await harness.call("user_uttered", sid, {"message": f"question {number}"})
    assert len(harness.received) == BURST
    assert harness.replies(sid) == [TOO_FAST, TOO_FAST]
    await harness.call("user_uttered", other, {"message": "another person"})  # not limited
    assert harness.received[-1].text == "another person"


def test_the_message_rate_refills_over_time() -> None:
    now = [0.0]
    rate = MessageRate(per_second=0.5, burst=2, clock=lambda: now[0])
    assert [rate.allow("a") for _ in range(3)] == [True, True, False]
    now[0] += 1.9
    assert not rate.allow("a")
    now[0] += 0.2  # 2.1 s: one message back
    assert rate.allow("a") and not rate.allow("a")
    now[0] += 3600
    assert [rate.allow("a") for _ in range(3)] == [True, True, False]  # never above the burst
    rate.forget("a")
    assert rate.allow("b")


def test_engineio_buffer_is_the_rest_body_limit(harness: Harness) -> None:
    limit = get_settings().serving.max_body_bytes
    assert harness.sio.eio.max_http_buffer_size == limit
    assert limit < 100 * 1024  # engine.io's default is 1 MB


# --- against the real server ----------------------------------------------------------------
async def test_a_900_kb_message_is_refused_cheaply_and_others_are_still_answered(
    assistant: serve.Running, conversation_log: ConversationLog
) -> None:
    big = Client()
    await big.start(assistant.rasa_url)
    other = Client()
    await other.start(assistant.rasa_url)
    try:
        await big.sio.emit("user_uttered", {"message": "x" * 900_000})
        await asyncio.wait_for(big.disconnected.wait(), TIMEOUT)  # engine.io closed it
        texts = await other.ask(
            "what does an assistant practitioner do?", "What assistant practitioners do:"
        )
        assert any(t.startswith("What assistant practitioners do:") for t in texts)
    finally:
        await other.stop()
        if big.sio.connected:
            await big.stop()
    assert conversation_log.events(big.conversation) == []
    assert [
        e["text"] for e in conversation_log.saved_events(other.conversation) if e["event"] == "user"
    ]


async def test_a_long_message_gets_the_polite_reply_from_the_real_server(
    assistant: serve.Running, conversation_log: ConversationLog
) -> None:
    client = Client()
    await client.start(assistant.rasa_url)
    try:
        texts = await client.ask("x" * (LIMIT + 1), "too long")
    finally:
        await client.stop()
    assert texts == [too_long_reply(LIMIT)]
    assert conversation_log.events(client.conversation) == []
