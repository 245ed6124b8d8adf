"""A socket.io client speaking to Rasa as the chat widget does (python-socketio)."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

TIMEOUT = 60


class Client:
    """A python-socketio client speaking to Rasa as the widget does."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.sio.on("bot_uttered", self.replies.put_nowait)
        self.sio.on("session_confirm", self.confirmed.put_nowait)
        self.disconnected = asyncio.Event()
        self.sio.on("disconnect", self.disconnected.set)
        self.session_id: str | None = None

    async def start(self, url: str, session_id: str | None = None) -> str:
        # Long-polling: the locked python-engineio's websocket client needs a newer aiohttp
        # than Rasa's (ClientWSTimeout); the browser tests cover the websocket transport.
        await self.sio.connect(
            url, socketio_path="/socket.io", transports=["polling"], wait_timeout=TIMEOUT
        )
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = await asyncio.wait_for(self.confirmed.get(), TIMEOUT)
        return self.session_id

    @property
    def conversation(self) -> str:
        """The conversation id the server keeps for this session: "web:<random id>"."""
        assert self.session_id is not None
        return "web:" + self.session_id.partition(".")[0]

    async def ask(self, message: str, expected: str) -> list[str]:
        """Send a message; return the texts received up to the one containing `expected`."""
        await self.sio.emit("user_uttered", {"message": message, "session_id": self.session_id})
        texts: list[str] = []
        while not any(expected in text for text in texts):
            try:
                reply = await asyncio.wait_for(self.replies.get(), TIMEOUT)
            except asyncio.TimeoutError:
                message = f"no reply containing {expected!r} in {TIMEOUT} s: {texts}"
                raise AssertionError(message) from None
            texts.append(reply.get("text", ""))
        return texts

    async def stop(self) -> None:
        await self.sio.disconnect()
