"""The REST channel (`POST /webhooks/rest/webhook`): stock Rasa's, made safe to expose.

What stock Rasa 3.6 does, and what this channel does instead:

- a body that is JSON but not an object (`[]`, `null`), or whose `sender` or `message` is not
  a string, is a 500 (and a missing sender puts the user in the shared conversation "default");
  here it is a 400 saying what is wrong. Malformed JSON is a 400 in both;
- a body over MAX_BODY_BYTES is a 413 (nginx refuses it first; this covers every other way in);
- a message over MAX_MESSAGE_LENGTH characters gets a polite reply and is neither sent to NLU
  nor stored;
- control characters and unpaired surrogates are dropped from the message (PostgreSQL refuses
  a NUL, and the whole turn would be lost);
- `input_channel` is always "rest": the client cannot write what the review console shows;
- the conversation id is "rest:<sender>" (bot/channels/conversations.py), so a client that
  posts a phone number as its sender cannot write into that number's SMS conversation; the
  replies are still addressed (`recipient_id`) to the sender the client gave;
- an answer's sources (bot/channels/replies.py) are kept: the message carries
  `"sources": [{"title": ..., "url": ...}]` (stock Rasa drops them);
- when the message cannot be handled (the tracker store or the lock store is down: see
  bot/rasa_compat.py), stock Rasa logs it and answers 200 with nothing, or with half an
  answer that was never stored; here the answer is the apology alone, with a 503
  (bot.channels.webhooks.handle; a streamed answer ends with the apology).
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from asyncio import Queue
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel
from rasa.core.channels.rest import RestInput as StockRestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.channels.conversations import REST, conversation_id, platform_id
from bot.channels.replies import APOLOGY, sources_from
from bot.channels.webhooks import OnNewMessage, handle, health
from bot.settings import get_settings

logger = logging.getLogger(__name__)


MAX_SENDER_LENGTH = 128
RETRY_AFTER_SECONDS = 30
# Characters never kept in a message: control characters (tab and newlines aside) and halves
# of surrogate pairs, which no UTF-8 database can store.
_KEPT_CONTROLS = frozenset("\t\n\r")
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs"})


class BadRequest(ValueError):
    """The request cannot be a message: answered with a 400 and the reason."""


def too_long_reply(limit: int) -> str:
    return (
        f"Sorry, that message is too long for me: please keep it under {limit:,} characters, "
        "and ask one question at a time."
    )


def clean_text(text: str) -> str:
    """`text` without control characters (tab and newlines kept) or unpaired surrogates."""
    return "".join(
        ch
        for ch in text
        if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    )


def parse_body(body: bytes) -> tuple[str, str, dict[str, Any] | None]:
    """`(sender, message, metadata)` from a webhook body, or BadRequest."""
    try:
        data = json.loads(body) if body else None
    except (ValueError, RecursionError) as error:
        raise BadRequest("the body is not valid JSON") from error
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object: {"sender": "...", "message": "..."}')
    sender, message, metadata = data.get("sender"), data.get("message"), data.get("metadata")
    if (
        not isinstance(sender, str)
        or not sender.strip()
        or len(sender) > MAX_SENDER_LENGTH
        or clean_text(sender) != sender
    ):
        raise BadRequest(
            f'"sender" must be a string of 1 to {MAX_SENDER_LENGTH} printable characters'
        )
    if not isinstance(message, str):
        raise BadRequest('"message" must be a string')
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest('"metadata" must be a JSON object when given')
    return sender, message, metadata


def _bot_reply(sender: str, text: str) -> list[dict[str, Any]]:
    return [{"recipient_id": sender, "text": text}]


class ClientReplies(CollectingOutputChannel):
    """Replies as stock Rasa collects them, but addressed to the sender the client gave, and
    with the answer's sources on its last message.

    It overrides every method by which CollectingOutputChannel stores a message (the five
    send_* it defines; the other send_* of OutputChannel go through them) and builds the
    messages itself, so it needs none of the stock class's private methods (bot.rasa_compat
    fingerprints the class, so a release that adds a way to store a message is noticed)."""

    client_sender: str

    def _addressed(self, **fields: Any) -> dict[str, Any]:
        """A message to the client's sender, without the fields that are None (as stock)."""
        message = {key: value for key, value in fields.items() if value is not None}
        return {"recipient_id": self.client_sender, **message}

    async def deliver(self, message: dict[str, Any]) -> None:
        """Store one message for the client: collected, or streamed."""
        self.messages.append(message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        parts = text.strip().split("\n\n")  # as stock Rasa: one message per paragraph
        for number, part in enumerate(parts, start=1):
            message = self._addressed(text=part)
            await self.deliver(with_sources(message, kwargs) if number == len(parts) else message)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.deliver(with_sources(self._addressed(text=text, buttons=buttons), kwargs))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.deliver(self._addressed(image=image))

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self.deliver(self._addressed(attachment=attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        await self.deliver(self._addressed(custom=json_message))


def with_sources(message: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """`message` with the checked `sources` of the bot message, when it has any."""
    sources = sources_from(kwargs)
    if not sources:
        return message
    return {**message, "sources": [source.as_dict() for source in sources]}


class RestOutput(ClientReplies):
    """The replies, collected for the answer."""

    def __init__(self, client_sender: str) -> None:
        super().__init__()
        self.client_sender = client_sender


class RestStreamOutput(ClientReplies, QueueOutputChannel):
    """The replies, streamed (`?stream=true`)."""

    def __init__(self, queue: Queue, client_sender: str) -> None:
        QueueOutputChannel.__init__(self, queue)
        self.client_sender = client_sender

    async def deliver(self, message: dict[str, Any]) -> None:
        await self.messages.put(message)


class RestInput(StockRestInput):
    @staticmethod
    async def on_message_wrapper(
        on_new_message: OnNewMessage,
        text: str,
        queue: Queue,
        sender_id: str,
        input_channel: str,
        metadata: dict[str, Any] | None,
    ) -> None:
        """The streamed reply (`?stream=true`): as stock, but a failure streams the apology
        and still ends the stream."""
        collector = RestStreamOutput(queue, platform_id(REST, sender_id))
        message = UserMessage(
            text, collector, sender_id, input_channel=input_channel, metadata=metadata
        )
        await handle(on_new_message, message)
        await queue.put("DONE")

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        limits = get_settings().serving
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}")
        webhook.add_route(health, "/", methods=["GET"])

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse | ResponseStream:
            if len(request.body) > limits.max_body_bytes:
                return response.json(
                    {"error": f"the body is over {limits.max_body_bytes} bytes"}, status=413
                )
            try:
                sender, text, metadata = parse_body(request.body)
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            if len(text) > limits.max_message_length:
                logger.info("a message of %d characters was not handled", len(text))
                return response.json(_bot_reply(sender, too_long_reply(limits.max_message_length)))
            text = clean_text(text)
            conversation = conversation_id(REST, sender)
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(on_new_message, text, conversation, self.name(), metadata),
                    content_type="text/event-stream",
                )
            collector = RestOutput(sender)
            message = UserMessage(
                text, collector, conversation, input_channel=self.name(), metadata=metadata
            )
            try:
                if not await handle(on_new_message, message):
                    # What the bot said before the failure was not stored: the apology alone
                    # is the answer.
                    return response.json(
                        _bot_reply(sender, APOLOGY),
                        status=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    )
            except asyncio.CancelledError:
                logger.error("handling a message timed out")
            return response.json(collector.messages)

        return webhook
