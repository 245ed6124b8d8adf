"""What the channels share on the wire: handing a message to the assistant (and apologising
when it cannot be handled), a provider's webhook (health check, 403 for an unverified request),
calling a provider's API, and finding the options the assistant last offered a sender.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Generic, TypeVar

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.replies import APOLOGY, Source, privacy_notice, sources_from, with_paragraph
from bot.settings import get_settings
from bot.tracking.masking import mask
from bot.tracking.store import MaskingTrackerStore, Removed, innermost_store

logger = logging.getLogger(__name__)

# Below the providers' own webhook timeouts (Twilio and Bot Framework wait 15 s).
API_TIMEOUT = aiohttp.ClientTimeout(total=10)
# A check returns None for a genuine request, or why it is refused (for the log).
Check = Callable[[Request], Awaitable[str | None]]
# What Rasa hands each channel's blueprint: the agent's handling of one message.
OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
SettingsT = TypeVar("SettingsT")


async def handle(on_new_message: OnNewMessage, message: UserMessage) -> bool:
    """Hand `message` to the assistant: True when it was handled.

    When it cannot be (the conversation log or the lock store is down), stock Rasa 3.6 lets the
    failure reach the channel, which logs it, and the user hears nothing. Here the failure is
    logged, the user is sent the apology on the channel the message came from, and False tells
    the channel (the REST channel answers 503; a provider's webhook still answers 200, or the
    provider sends the message again).
    """
    try:
        await on_new_message(message)
        return True
    except Exception:
        logger.exception(
            "Handling a %s message failed; the user is sent an apology", message.input_channel
        )
    if message.output_channel is not None:
        try:
            await message.output_channel.send_text_message(message.sender_id, APOLOGY)
        except Exception:
            logger.exception("The apology could not be sent either")
    return False


async def erase(agent: Any, conversation: str, *, via: str) -> Removed:
    """Erase `conversation` on its person's request (the web widget's "Delete this
    conversation"), holding its lock as a message does: a turn being answered finishes (and is
    saved) first, so its save cannot store the conversation again."""
    store = innermost_store(agent.tracker_store)
    if not isinstance(store, MaskingTrackerStore):
        raise RuntimeError(f"{type(store).__name__} cannot erase a conversation")
    async with agent.lock_store.lock(conversation):
        return await store.erase(conversation, actor="the person", via=via)


async def is_new_conversation(request: Request, conversation: str) -> bool:
    """Whether nothing of `conversation` is in the log yet (a first message, or the first
    since the person had it erased). False when the log cannot say: the message itself will
    then get the apology."""
    agent = request.app.ctx.agent
    try:
        store = innermost_store(agent.tracker_store)
        if isinstance(store, MaskingTrackerStore):
            return not await store.has_conversation(conversation)
        return await agent.tracker_store.retrieve(conversation) is None
    except Exception:
        logger.warning("Could not tell whether a conversation is new", exc_info=True)
        return False


def notice_if_new(request: Request, message: UserMessage) -> None:
    """Make the first reply of a new conversation start with the privacy notice.

    Whether it is new is asked when the first reply is sent: the message is being handled
    then, under its conversation's lock, so the turn before it has been saved (Rasa saves a
    turn after sending its replies: asked on arrival, a quick second message would look new).
    """
    output = message.output_channel
    if not isinstance(output, RenderedOutput):
        return

    async def notice() -> str | None:
        if not await is_new_conversation(request, message.sender_id):
            return None
        settings = get_settings()
        return privacy_notice(settings.privacy.retention_days, settings.privacy_url())

    output.notice = notice


async def health(_: Request) -> HTTPResponse:
    """GET / of every channel: Rasa's answer that the channel is there."""
    return response.json({"status": "ok"})


def refuse_unverified(blueprint: Blueprint, channel: str, check: Check) -> None:
    """Answer 403 to every POST to `blueprint` that `check` refuses, before any handler runs.

    So a refused request never reaches the agent and leaves nothing in the conversation log.
    """

    @blueprint.middleware("request")
    async def verify(request: Request) -> HTTPResponse | None:
        if request.method != "POST":
            return None
        try:
            reason = await check(request)
        except Exception:  # a check that breaks refuses: never let an unchecked request in
            logger.exception("Checking a %s request failed; refusing it", channel)
            reason = "the check failed"
        if reason is None:
            return None
        logger.warning("Refused a %s request from %s: %s", channel, request.ip, reason)
        return response.text("Forbidden", status=HTTPStatus.FORBIDDEN)


async def call_api(what: str, method: str, url: str, **kwargs: Any) -> Any:
    """One call to a provider's API: its JSON answer, or None when it failed (logged).

    Not raised: the webhook must still answer 200, or the provider sends the message again.
    """
    try:
        async with (
            aiohttp.ClientSession(timeout=API_TIMEOUT) as session,
            session.request(method, url, **kwargs) as answer,
        ):
            body = await answer.read()
            if answer.status >= 400:
                logger.error(
                    "%s failed: HTTP %s %s",
                    what,
                    answer.status,
                    # A provider's error can quote the recipient (Twilio names the number).
                    mask(body[:300].decode("utf-8", "replace")),
                )
                return None
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        logger.error("%s failed: %r", what, error)
        return None
    try:
        return json.loads(body) if body else {}
    except ValueError:
        return {}


def json_body(request: Request) -> Any:
    """The request's JSON body, or None when it is not JSON."""
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


async def latest_options(request: Request, sender_id: str) -> list[dict[str, Any]]:
    """The buttons of the assistant's latest reply to `sender_id`, read from its tracker.

    Only the reply since the user last spoke counts, so an old list is never reused.
    """
    tracker = await request.app.ctx.agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            return list(event.data["buttons"])
    return []


def channel_settings(name: str) -> Any:
    """The settings of channel `name`; it is in the credentials file only when they are set."""
    channels = get_settings().channels
    section = getattr(channels, name)
    if section is None:
        unset = ", ".join(channels.missing.get(name, []))
        raise RasaException(f"The {name} channel is in the credentials file but {unset} not set")
    return section


class ProviderWebhook(InputChannel):
    """A provider's webhook (`/webhooks/<name>/`): GET / is a health check, and POST /webhook
    goes to `receive` once `check` has let the request in (refuse_unverified).

    Mixed in before a stock Rasa input channel, whose name and metadata are kept.
    """

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"{self.name()}_webhook", __name__)
        webhook.add_route(health, "/", methods=["GET"])

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.receive(request, on_new_message)

        refuse_unverified(webhook, self.name(), self.check)
        return webhook

    async def receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        """Answer a verified POST: hand each message in it to the assistant (`hand_over`)."""
        raise NotImplementedError

    async def check(self, request: Request) -> str | None:
        """Why a POST is not from the provider, or None when it is."""
        raise NotImplementedError

    async def hand_over(
        self,
        on_new_message: OnNewMessage,
        request: Request,
        text: str,
        output: OutputChannel,
        conversation: str,
    ) -> None:
        """One message for the assistant; a failure is apologised for and logged, not raised."""
        message = UserMessage(
            text,
            output,
            conversation,
            input_channel=self.name(),
            metadata=self.get_metadata(request),
        )
        notice_if_new(request, message)
        await handle(on_new_message, message)


class RenderedOutput(OutputChannel, Generic[SettingsT]):
    """An output channel that renders text, buttons and sources together for its platform
    (`render`) and posts each message of the result to the platform's API (`post`). A
    `notice` (the privacy notice, for a new conversation) starts the first reply."""

    platform = ""  # the channel's name
    # What starts the first reply, if anything (asked once, when it is sent).
    notice: Callable[[], Awaitable[str | None]] | None = None

    @classmethod
    def name(cls) -> str:
        return cls.platform

    def __init__(self, settings: SettingsT) -> None:
        self.settings = settings

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        rendered = self.render(await self._noticed(text), [], sources_from(kwargs))
        await self._send(recipient_id, rendered)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        rendered = self.render(await self._noticed(text), buttons, sources_from(kwargs))
        await self._send(recipient_id, rendered)

    async def _noticed(self, text: str) -> str:
        """`text`, after the notice if this is the first reply and there is one."""
        notice, self.notice = self.notice, None
        line = await notice() if notice is not None else None
        return with_paragraph(line, text) if line else text

    async def _send(self, recipient_id: str, messages: list[Any]) -> None:
        for message in messages:
            await self.post(recipient_id, message)

    def render(self, text: str, buttons: list[dict[str, Any]], sources: list[Source]) -> list[Any]:
        raise NotImplementedError

    async def post(self, recipient_id: str, message: Any) -> None:
        raise NotImplementedError
