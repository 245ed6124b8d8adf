"""The socket.io channel the web widget uses: Rasa's, with the REST channel's limits.

What stock Rasa 3.6 does, and what this channel does instead:

- engine.io accepts packets of up to 1 MB, and WebSocket frames pass nginx's body and rate
  limits; here the engine.io buffer is the REST channel's body limit (MAX_BODY_BYTES, 64 kB):
  a bigger packet is refused by engine.io before any handler runs, and the connection closed;
- any `message` (of any type and size) reaches the pipeline; here it must be a string, one over
  MAX_MESSAGE_LENGTH characters gets the REST channel's polite reply and is neither sent to NLU
  nor stored, and control characters are dropped (bot/channels/rest.py);
- a connection may send messages as fast as it likes; here it may send BURST at once, then one
  every 1 / MESSAGES_PER_SECOND seconds, and a faster one gets a polite reply and is dropped;
- the client chooses its session id, which is the conversation id (any string: someone else's,
  a phone number); here the server issues it (SessionIds): a random id signed with HMAC, which
  a client can give back to resume its conversation but cannot invent. The conversation id is
  "web:<the random id>" (bot/channels/conversations.py);
- an answer's sources are dropped; here the last message of an answer carries them,
  `"sources": [{"title": ..., "url": ...}]`, and the widget shows each page title as a link;
- a message that cannot be handled (the conversation log or the lock store down) gets no
  reply; here it gets the apology (bot.channels.webhooks.handle);
- a person cannot delete their conversation; here the widget's "Delete this conversation"
  sends `delete_conversation` with its session id, and the conversation of that session (this
  connection's own, and no other) is erased under its lock (bot.channels.webhooks.erase), then
  `conversation_deleted` is sent back (`conversation_not_deleted` when it could not be).

And one fix: with session_persistence on, Rasa 3.6.21 joins the client to its session's room
with `sio.enter_room(...)` and does not await it. Since python-socketio 5.10 that method is a
coroutine, so the room is never joined and replies, sent to the room, never arrive (Rasa issue
13027). requirements.lock pins python-socketio 5.9.0; this channel awaits the call when it is a
coroutine, so an upgrade does not silently break the widget (tests/web/test_socketio.py).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput
from sanic import Blueprint
from socketio import AsyncServer

from bot.channels.conversations import WEB, conversation_id
from bot.channels.rest import clean_text, too_long_reply, with_sources
from bot.channels.webhooks import OnNewMessage, erase, handle, health
from bot.settings import get_settings

logger = logging.getLogger(__name__)

MAX_SESSION_ID_LENGTH = 128
MESSAGES_PER_SECOND = 1.0
BURST = 10
TOO_FAST = (
    "Sorry, that is more messages than I can answer at once. Please wait a moment, "
    "then ask one question at a time."
)
_RANDOM_ID = re.compile(r"[0-9a-f]{32}")


class SessionIds:
    """Session ids the server issues: "<random id>.<HMAC of it>", checked when given back."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def from_settings(cls) -> SessionIds:
        """Keyed from SENDER_ID_KEY (which production must set), so every Rasa instance accepts
        the ids the others issued."""
        secret = get_settings().sender_id_secret().encode()
        return cls(hmac.new(secret, b"careers web widget session ids", hashlib.sha256).digest())

    def _signature(self, random_id: str) -> str:
        return hmac.new(self.key, random_id.encode(), hashlib.sha256).hexdigest()[:32]

    def new(self) -> str:
        random_id = secrets.token_hex(16)
        return f"{random_id}.{self._signature(random_id)}"

    def conversation(self, session_id: Any) -> str | None:
        """The conversation id of a session id this server issued, else None."""
        if not isinstance(session_id, str) or len(session_id) > MAX_SESSION_ID_LENGTH:
            return None
        random_id, _, signature = session_id.partition(".")
        if not _RANDOM_ID.fullmatch(random_id):
            return None
        if not hmac.compare_digest(signature.encode(), self._signature(random_id).encode()):
            return None
        return conversation_id(WEB, random_id)


class MessageRate:
    """A token bucket per connection: `burst` messages at once, then `per_second`."""

    def __init__(
        self,
        per_second: float = MESSAGES_PER_SECOND,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        return allowed

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)


class WebOutput(SocketIOOutput):
    """Stock Rasa's socket.io output, with the answer's sources on its last message."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        parts = text.strip().split("\n\n")  # as stock Rasa: one message per paragraph
        for number, part in enumerate(parts, start=1):
            message = {"text": part}
            await self._send_message(
                recipient_id, with_sources(message, kwargs) if number == len(parts) else message
            )

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        parts = text.strip().split("\n\n") or [text]
        for number, part in enumerate(parts, start=1):
            message: dict[str, Any] = {"text": part}
            if number == len(parts):
                message["quick_replies"] = [
                    {"content_type": "text", "title": b["title"], "payload": b["payload"]}
                    for b in buttons
                ]
                message = with_sources(message, kwargs)
            await self._send_message(recipient_id, message)


def message_text(data: Any) -> str | None:
    """The `message` of a user_uttered event when it is a string, else None."""
    message = data.get("message") if isinstance(data, dict) else None
    return message if isinstance(message, str) else None


def message_metadata(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The metadata of a user_uttered event when it is an object (or JSON text of one)."""
    metadata = data.get(key)
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except (ValueError, RecursionError):
            return None
    return metadata if isinstance(metadata, dict) else None


class SocketIOInput(StockSocketIOInput):
    session_ids: SessionIds | None = None

    def get_output_channel(self) -> OutputChannel | None:
        """For messages Rasa sends on its own (external events): ours, sources included."""
        if self.sio is None:
            return super().get_output_channel()
        return WebOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Stock Rasa's blueprint, rewritten: see the module docstring for what differs."""
        limits = get_settings().serving
        session_ids = self.session_ids = self.session_ids or SessionIds.from_settings()
        rate = MessageRate()
        conversations: dict[str, str] = {}  # socket id -> conversation id
        namespace = self.namespace
        # cors_allowed_origins=[]: CORS is left to Sanic, as in stock Rasa.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            max_http_buffer_size=limits.max_body_bytes,
        )
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        # The Sanic app, for its agent's tracker and lock stores (a person's erasure).
        server: dict[str, Any] = {}

        @webhook.listener("after_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            server["app"] = app

        async def reply(sid: str, text: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": text}, room=sid, namespace=namespace)

        webhook.add_route(health, "/", methods=["GET"])

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            conversations.pop(sid, None)
            rate.forget(sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any) -> None:
            """A session id the client was given before is resumed; anything else, a new one."""
            requested = data.get("session_id") if isinstance(data, dict) else None
            session_id = requested
            conversation = session_ids.conversation(requested)
            if conversation is None or not self.session_persistence:
                session_id = session_ids.new()
                conversation = session_ids.conversation(session_id)
            assert conversation is not None
            previous = conversations.get(sid)
            if previous is not None and previous != conversation:  # "New conversation"
                left = sio.leave_room(sid, previous, namespace=namespace)
                if inspect.isawaitable(left):
                    await left
            conversations[sid] = conversation
            joined = sio.enter_room(sid, conversation, namespace=namespace)
            if inspect.isawaitable(joined):  # python-socketio 5.10+ (Rasa issue 13027)
                await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on("delete_conversation", namespace=namespace)
        async def delete_conversation(sid: str, data: Any) -> None:
            """The person's "Delete this conversation": only this connection's own."""
            conversation = conversations.get(sid)
            requested = data.get("session_id") if isinstance(data, dict) else None
            if conversation is None or session_ids.conversation(requested) != conversation:
                logger.info("A socket.io request to delete another conversation was refused")
                await sio.emit("conversation_not_deleted", {}, room=sid, namespace=namespace)
                return
            try:
                removed = await erase(server["app"].ctx.agent, conversation, via=self.name())
            except Exception:
                logger.exception("A conversation could not be deleted on its person's request")
                await sio.emit("conversation_not_deleted", {}, room=sid, namespace=namespace)
                return
            conversations.pop(sid, None)
            left = sio.leave_room(sid, conversation, namespace=namespace)
            if inspect.isawaitable(left):
                await left
            await sio.emit(
                "conversation_deleted", {"events": removed.events}, room=sid, namespace=namespace
            )

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any) -> None:
            conversation = conversations.get(sid)
            if conversation is None:
                logger.warning("A socket.io message before session_request was ignored")
                return
            if not rate.allow(sid):
                logger.info("A socket.io connection sent messages too fast; one was dropped")
                await reply(sid, TOO_FAST)
                return
            text = message_text(data)
            if text is None:
                logger.info("A socket.io message without a text message was ignored")
                return
            if len(text) > limits.max_message_length:
                logger.info("a message of %d characters was not handled", len(text))
                await reply(sid, too_long_reply(limits.max_message_length))
                return
            text = clean_text(text)
            if not text.strip():
                return
            message = UserMessage(
                text,
                WebOutput(sio, self.bot_message_evt),
                conversation,
                input_channel=self.name(),
                metadata=message_metadata(data, self.metadata_key or "metadata"),
            )
            await handle(on_new_message, message)

        return webhook
