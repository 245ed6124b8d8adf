"""Slack (`/webhooks/slack/webhook`): Rasa's connector, with requests checked and blocks sent.

Every request must carry a valid v0 signature (HMAC-SHA256 of "v0:<timestamp>:<body>" with
the app's signing secret) made in the last 5 minutes; anything else gets 403 (stock Rasa 3.6
answers 400). An event_id seen before (Slack retrying, or a request sent again within those 5
minutes) is acknowledged and not answered again (bot/channels/replays.py).

Replies go out as Block Kit messages: mrkdwn sections of at most 3000 characters
and, under the last one, an actions block with one button per option.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackInput as StockSlackInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels import webhooks
from bot.channels.conversations import SLACK, conversation_id, platform_id
from bot.channels.replays import SeenIds
from bot.channels.replies import CHOOSE, Source, sources_paragraph, split_text, with_paragraph
from bot.settings import SlackSettings

logger = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60
SECTION_LIMIT = 3000
MESSAGE_LIMIT = 40000
MAX_BUTTONS = 25
BUTTON_TEXT_LIMIT = 75


def signature_problem(
    signing_secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> str | None:
    """Why a request is not a genuine recent one from Slack, or None when it is."""
    timestamp = headers.get("X-Slack-Request-Timestamp") or ""
    signature = headers.get("X-Slack-Signature") or ""
    if not timestamp or not signature:
        return "no signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "malformed timestamp"
    if abs(now - sent_at) > MAX_AGE_SECONDS:
        return "timestamp more than 5 minutes away (a replay?)"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup; everything else (links too) stays as is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(source: Source) -> str:
    """A mrkdwn link showing the page title: `<url|title>`."""
    return f"<{escape(source.url).replace('|', '%7C')}|{escape(source.title)}>"


def render(
    text: str | None, buttons: Sequence[dict[str, Any]] = (), sources: Sequence[Source] = ()
) -> list[dict[str, Any]]:
    """chat.postMessage bodies (without the channel) for one reply."""
    body = with_paragraph(escape(text or ""), sources_paragraph(sources, link))
    messages: list[dict[str, Any]] = []
    for part in split_text(body or (CHOOSE if buttons else ""), MESSAGE_LIMIT):
        sections = [
            {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
            for chunk in split_text(part, SECTION_LIMIT)
        ]
        messages.append({"text": part, "blocks": sections})
    if buttons:
        if len(buttons) > MAX_BUTTONS:
            logger.warning("Slack shows at most %s buttons; dropped the rest", MAX_BUTTONS)
        messages[-1]["blocks"].append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": button["title"][:BUTTON_TEXT_LIMIT]},
                        "value": button["payload"],
                        "action_id": f"option-{number}",
                    }
                    for number, button in enumerate(buttons[:MAX_BUTTONS], start=1)
                ],
            }
        )
    return messages


class SlackOutput(webhooks.RenderedOutput[SlackSettings]):
    """Posts replies with chat.postMessage to the channel (or thread) the user wrote in."""

    platform = "slack"
    render = staticmethod(render)

    def __init__(
        self, settings: SlackSettings, channel: str | None, thread_id: str | None = None
    ) -> None:
        super().__init__(settings)
        self.channel = channel
        self.thread_id = thread_id

    async def post(self, recipient_id: str, message: dict[str, Any]) -> None:
        url = f"{self.settings.api_url.rstrip('/')}/chat.postMessage"
        headers = {"Authorization": f"Bearer {self.settings.bot_token}"}
        body = {"channel": self.channel or platform_id(SLACK, recipient_id), **message}
        if self.thread_id:
            body["thread_ts"] = self.thread_id
        answer = await webhooks.call_api(
            "Slack chat.postMessage", "POST", url, json=body, headers=headers
        )
        if answer is not None and not answer.get("ok", False):
            logger.error("Slack refused a reply: %s", answer.get("error"))


class SlackInput(StockSlackInput):
    """Stock event handling (messages, mentions, button clicks, retries); checked requests;
    a message that cannot be handled is apologised for (bot.channels.webhooks.handle)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(webhooks.channel_settings("slack"))

    def __init__(self, settings: SlackSettings) -> None:
        super().__init__(
            settings.bot_token,
            slack_retry_reason_header="x-slack-retry-reason",
            slack_retry_number_header="x-slack-retry-num",
            slack_signing_secret=settings.signing_secret,
        )
        self.settings = settings
        self.seen = SeenIds()

    def blueprint(self, on_new_message: webhooks.OnNewMessage) -> Blueprint:
        webhook = super().blueprint(partial(webhooks.handle, on_new_message))
        webhooks.refuse_unverified(webhook, self.name(), self._check)
        return webhook

    async def process_message(
        self,
        request: Request,
        on_new_message: webhooks.OnNewMessage,
        text: str,
        sender_id: str | None,
        metadata: dict[str, Any] | None,
    ) -> Any:
        """Stock handling, except that an event seen before is acknowledged, not answered,
        and the conversation id is in Slack's namespace."""
        event = webhooks.json_body(request)
        event_id = event.get("event_id") if isinstance(event, dict) else None
        if isinstance(event_id, str) and not self.seen.first_time(event_id):
            logger.info("Slack sent event %s again: acknowledged, not answered", event_id)
            return response.text("")
        conversation = conversation_id(SLACK, sender_id) if sender_id else None

        async def noticed(message: UserMessage) -> Any:  # stock Rasa builds the message
            webhooks.notice_if_new(request, message)
            return await on_new_message(message)

        return await super().process_message(request, noticed, text, conversation, metadata)

    async def _check(self, request: Request) -> str | None:
        return signature_problem(
            self.settings.signing_secret, request.headers, request.body, time.time()
        )

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        return SlackOutput(self.settings, channel or self.slack_channel, thread_id)
