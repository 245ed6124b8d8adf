"""Rasa's socket.io channel with session persistence: replies arrive, and survive a reconnect.

Rasa 3.6.21 does not await `enter_room`, which python-socketio 5.10 made a coroutine, so with
session_persistence on the client never joins its session's room and never gets a reply (Rasa
issue 13027). The lock pins 5.9.0; bot/channels/socketio.py also awaits the call when it is a
coroutine. These tests show both: real replies from the running server, and that our channel
joins the room when enter_room is a coroutine while the stock one does not.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import warnings
from typing import Any

import pytest
import socketio
import yaml
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput

from bot import serve
from bot.channels.socketio import SessionIds, SocketIOInput
from bot.settings import PROJECT_ROOT
from tests.support.logs import ConversationLog
from tests.support.sockets import Client

SESSION_ID = re.compile(r"[0-9a-f]{32}\.[0-9a-f]{32}")


def test_the_widget_channel_is_ours_with_session_persistence() -> None:
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    assert credentials["bot.channels.socketio.SocketIOInput"] == {
        "user_message_evt": "user_uttered",
        "bot_message_evt": "bot_uttered",
        "session_persistence": True,
    }


async def test_replies_arrive_with_session_persistence(assistant: serve.Running) -> None:
    client = Client()
    session_id = await client.start(assistant.rasa_url)
    try:
        texts = await client.ask(
            "what does an assistant practitioner do?", "What assistant practitioners do:"
        )
    finally:
        await client.stop()
    assert SESSION_ID.fullmatch(session_id)
    assert any(t.startswith("What assistant practitioners do:") for t in texts)


async def test_a_new_connection_resumes_the_session(assistant: serve.Running) -> None:
    """What a page reload does: a new socket asks for the same session and the talk goes on."""
    first = Client()
    session_id = await first.start(assistant.rasa_url)
    await first.ask("what does an assistant practitioner do?", "What assistant practitioners do:")
    await first.stop()

    second = Client()
    assert await second.start(assistant.rasa_url, session_id) == session_id
    try:
        texts = await second.ask("how do they get accredited?", "Accreditation for")
    finally:
        await second.stop()
    assert any(t.startswith("Accreditation for assistant practitioners:") for t in texts)


async def _noop(_message: Any) -> None:
    return None


async def _request_session(channel: StockSocketIOInput) -> tuple[socketio.AsyncServer, str]:
    """A connected client (in the server's books) asks for a session; return the server."""
    if isinstance(channel, SocketIOInput):
        channel.session_ids = SESSION_IDS
    channel.blueprint(_noop)
    sio = channel.sio
    assert sio is not None
    sid = sio.manager.connect("eio-1", "/")
    await sio.handlers["/"]["session_request"](sid, {"session_id": ISSUED})
    return sio, sid


SESSION_IDS = SessionIds(b"k" * 32)
ISSUED = SESSION_IDS.new()
ISSUED_ROOM = "web:" + ISSUED.partition(".")[0]


def _in_room(sio: socketio.AsyncServer, sid: str, room: str) -> bool:
    return sid in dict(sio.manager.get_participants("/", room))


@pytest.fixture
def coroutine_enter_room(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make AsyncServer.enter_room a coroutine, as python-socketio 5.10+ has it."""
    synchronous = socketio.AsyncServer.enter_room
    if inspect.iscoroutinefunction(synchronous):
        return  # python-socketio is 5.10 or later: it is a coroutine already

    async def enter_room(self: Any, sid: str, room: str, namespace: str | None = None) -> None:
        synchronous(self, sid, room, namespace=namespace)

    monkeypatch.setattr(socketio.AsyncServer, "enter_room", enter_room)


async def test_our_channel_joins_the_session_room() -> None:
    sio, sid = await _request_session(SocketIOInput(session_persistence=True))
    assert _in_room(sio, sid, ISSUED_ROOM)


@pytest.mark.usefixtures("coroutine_enter_room")
async def test_our_channel_joins_the_room_when_enter_room_is_a_coroutine() -> None:
    sio, sid = await _request_session(SocketIOInput(session_persistence=True))
    assert _in_room(sio, sid, ISSUED_ROOM)


@pytest.mark.usefixtures("coroutine_enter_room")
async def test_stock_rasa_does_not_join_when_enter_room_is_a_coroutine() -> None:
    """Why the fix exists (Rasa issue 13027). If Rasa fixes it upstream, this test says so."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "coroutine ... was never awaited"
        sio, sid = await _request_session(StockSocketIOInput(session_persistence=True))
    assert not _in_room(sio, sid, ISSUED)


async def test_a_connection_deletes_only_its_own_conversation(
    assistant: serve.Running, conversation_log: ConversationLog
) -> None:
    """The widget's Delete: another session's id, or one the server never issued, is refused;
    the connection's own conversation is erased, and the log keeps nothing of it."""
    owner, other = Client(), Client()
    owner_session = await owner.start(assistant.rasa_url)
    await other.start(assistant.rasa_url)
    answers: dict[Client, Any] = {}
    try:
        for client in (owner, other):
            queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
            client.sio.on("conversation_deleted", lambda data, q=queue: q.put_nowait(("ok", data)))
            client.sio.on(
                "conversation_not_deleted", lambda data, q=queue: q.put_nowait(("no", data))
            )
            answers[client] = queue
        await owner.ask(
            "what does an assistant practitioner do?", "What assistant practitioners do:"
        )
        conversation_log.saved_events(owner.conversation)
        for forged in (owner_session, "0" * 32 + "." + "0" * 32, None):
            await other.sio.emit("delete_conversation", {"session_id": forged})
            assert (await answers[other].get())[0] == "no"
        assert conversation_log.events(owner.conversation) != []

        await owner.sio.emit("delete_conversation", {"session_id": owner_session})
        outcome, data = await answers[owner].get()
        assert outcome == "ok" and data["events"] > 0
        assert conversation_log.events(owner.conversation) == []
    finally:
        await owner.stop()
        await other.stop()
