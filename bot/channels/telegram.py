"""Telegram (`/webhooks/telegram/webhook`): a bot's webhook, with a secret token, over plain HTTP.

At start-up the webhook is registered (setWebhook) with TELEGRAM_SECRET_TOKEN, which
Telegram then sends in X-Telegram-Bot-Api-Secret-Token on every update; an update without
it gets 403. An update_id seen before is acknowledged and not answered again
(bot/channels/replays.py). Stock Rasa 3.6 instead calls the Bot API (set_webhook, and get_me
on every update) through aiogram at api.telegram.org; here every call goes to TELEGRAM_API_URL.

Replies are HTML (parse_mode "HTML": the text escaped, each source a link showing the page
title) in parts of at most 4096 characters; options become an inline keyboard, one button per
row, under the last part.
"""

from __future__ import annotations

import hmac
import html
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rasa.core.channels.channel import InputChannel
from rasa.core.channels.telegram import TelegramInput as StockTelegramInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import webhooks
from bot.channels.conversations import TELEGRAM, conversation_id, platform_id
from bot.channels.replays import SeenIds
from bot.channels.replies import (
    CHOOSE,
    Source,
    option_payload,
    sources_paragraph,
    split_text,
    with_paragraph,
)
from bot.settings import TelegramSettings

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What Telegram sends when someone opens the bot; to the assistant it is a greeting.
START = "/start"
GREETING = "Hello"


def secret_token_problem(secret_token: str, headers: Mapping[str, str]) -> str | None:
    """Why an update is not from Telegram (wrong or missing secret token), or None."""
    given = headers.get(SECRET_HEADER) or ""
    if not given:
        return "no secret token"
    if not hmac.compare_digest(given.encode("utf-8", "replace"), secret_token.encode()):
        return "wrong secret token"
    return None


def callback_data(number: int, button: dict[str, Any]) -> str:
    """The payload itself when it fits Telegram's 64 bytes, else "#<number>" (looked up later)."""
    payload = str(button["payload"])
    return payload if len(payload.encode()) <= CALLBACK_DATA_LIMIT else f"#{number}"


def link(source: Source) -> str:
    """An HTML link showing the page title, both escaped as Telegram's HTML needs."""
    return f'<a href="{html.escape(source.url)}">{html.escape(source.title, quote=False)}</a>'


def render(
    text: str | None, buttons: Sequence[dict[str, Any]] = (), sources: Sequence[Source] = ()
) -> list[dict[str, Any]]:
    """sendMessage bodies (without chat_id) for one reply, in Telegram's HTML."""
    body = with_paragraph(html.escape(text or "", quote=False), sources_paragraph(sources, link))
    messages: list[dict[str, Any]] = [
        {"text": part, "parse_mode": "HTML"}
        for part in split_text(body or (CHOOSE if buttons else ""), MESSAGE_LIMIT)
    ]
    if buttons:
        messages[-1]["reply_markup"] = {
            "inline_keyboard": [
                [{"text": button["title"], "callback_data": callback_data(number, button)}]
                for number, button in enumerate(buttons, start=1)
            ]
        }
    return messages


def incoming(update: Any) -> tuple[str, str, str | None] | None:
    """(chat id, text, callback query id) of an update the assistant answers, else None."""
    if not isinstance(update, dict):
        return None
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        chat = (callback.get("message") or {}).get("chat") or {}
        data = callback.get("data")
        if chat.get("id") is None or not isinstance(data, str) or not data:
            return None
        return str(chat["id"]), data, str(callback.get("id") or "") or None
    message = update.get("message")
    if not isinstance(message, dict):
        return None  # edits, channel posts, members joining: nothing to answer
    chat = message.get("chat") or {}
    text = message.get("text")
    if chat.get("id") is None or not isinstance(text, str) or not text.strip():
        return None
    if text.split(maxsplit=1)[0].split("@")[0] == START:  # "/start", "/start@OurBot ..."
        text = GREETING
    return str(chat["id"]), text, None


def api_url(settings: TelegramSettings, method: str) -> str:
    return f"{settings.api_url.rstrip('/')}/bot{settings.bot_token}/{method}"


async def call_bot_api(settings: TelegramSettings, method: str, body: dict[str, Any]) -> Any:
    answer = await webhooks.call_api(
        f"Telegram {method}", "POST", api_url(settings, method), json=body
    )
    if answer is not None and not answer.get("ok", False):
        logger.error("Telegram refused %s: %s", method, answer.get("description"))
        return None
    return answer


class TelegramOutput(webhooks.RenderedOutput[TelegramSettings]):
    platform = "telegram"
    render = staticmethod(render)

    async def post(self, recipient_id: str, message: dict[str, Any]) -> None:
        chat_id = platform_id(TELEGRAM, recipient_id)
        await call_bot_api(self.settings, "sendMessage", {"chat_id": chat_id, **message})


class TelegramInput(webhooks.ProviderWebhook, StockTelegramInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(webhooks.channel_settings("telegram"))

    def __init__(self, settings: TelegramSettings) -> None:
        super().__init__(settings.bot_token, None, settings.webhook_url, debug_mode=False)
        self.settings = settings
        self.seen = SeenIds()

    async def register_webhook(self) -> None:
        """setWebhook with the secret token, so Telegram sends it with every update."""
        body = {
            "url": self.settings.webhook_url,
            "secret_token": self.settings.secret_token,
            "allowed_updates": ["message", "callback_query"],
        }
        if await call_bot_api(self.settings, "setWebhook", body) is not None:
            logger.info("Telegram webhook registered: %s", self.settings.webhook_url)

    def blueprint(self, on_new_message: webhooks.OnNewMessage) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.listener("after_server_start")
        async def register(*_: Any) -> None:
            await self.register_webhook()

        return webhook

    async def receive(
        self, request: Request, on_new_message: webhooks.OnNewMessage
    ) -> HTTPResponse:
        update = webhooks.json_body(request)
        update_id = update.get("update_id") if isinstance(update, dict) else None
        if update_id is not None and not self.seen.first_time(str(update_id)):
            logger.info("Telegram sent update %s again: acknowledged, not answered", update_id)
            return response.text("success")
        found = incoming(update)
        if found is None:
            return response.text("success")
        chat_id, text, callback_id = found
        conversation = conversation_id(TELEGRAM, chat_id)
        if callback_id is not None:
            await call_bot_api(
                self.settings, "answerCallbackQuery", {"callback_query_id": callback_id}
            )
            if text.startswith("#"):
                options = await webhooks.latest_options(request, conversation)
                text = option_payload(text, options) or text
        output = self.get_output_channel()
        await self.hand_over(on_new_message, request, text, output, conversation)
        return response.text("success")  # 200 even after a failure, or Telegram sends it again

    async def check(self, request: Request) -> str | None:
        return secret_token_problem(self.settings.secret_token, request.headers)

    def get_output_channel(self) -> TelegramOutput:
        return TelegramOutput(self.settings)
