"""The socket.io channel the web widget uses: stock Rasa, with our guard and one fix.

The fix: with session_persistence on, Rasa 3.6.21 joins the client to its session's room with
`sio.enter_room(...)` and does not await it. Since python-socketio 5.10 that method is a
coroutine, so the room is never joined and replies, sent to the room, never arrive (Rasa issue
13027). requirements.lock pins python-socketio 5.9.0; this handler awaits the call when it is a
coroutine, so an upgrade does not silently break the widget (tests/web/test_socketio.py).
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput
from sanic import Blueprint

import bot.channels  # noqa: F401  (installs the action guard)

MAX_SESSION_ID_LENGTH = 128


def session_id_from(data: Any) -> str:
    """The session id a client asked to resume, or a new one (as Rasa: a uuid4 hex)."""
    requested = data.get("session_id") if isinstance(data, dict) else None
    if isinstance(requested, str) and 0 < len(requested) <= MAX_SESSION_ID_LENGTH:
        return requested
    return uuid.uuid4().hex


class SocketIOInput(StockSocketIOInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by the stock blueprint()

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            """Replaces the stock handler: the same, but enter_room is awaited when async."""
            session_id = session_id_from(data)
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        return socketio_webhook
