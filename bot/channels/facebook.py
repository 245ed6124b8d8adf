"""Facebook Messenger (`/webhooks/facebook/webhook`): a Page's webhook, signed by the Meta app.

Every POST must carry X-Hub-Signature-256 ("sha256=" + HMAC-SHA256 of the raw body with the
app secret); anything else gets 403, a request signed only with the older SHA-1 header
(X-Hub-Signature) included, since Meta sends both. (Stock Rasa 3.6 checks only the sha1 header
and answers a bad one with 200 "not validated".) Every event of a batch is handled, not only
the first.

Replies go to the Send API at FACEBOOK_GRAPH_URL in parts of at most 2000 characters. Messenger
shows no links in text, so an answer's sources follow as a button template: the page titles,
and a URL button for each (at most 3). Options become quick replies (titles of at most 20
characters) on the last message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.facebook import FacebookInput as StockFacebookInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import webhooks
from bot.channels.conversations import MESSENGER, conversation_id, platform_id
from bot.channels.replies import CHOOSE, Source, split_text
from bot.settings import FacebookSettings

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
TEMPLATE_TEXT_LIMIT = 640
MAX_URL_BUTTONS = 3
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20


def signature_problem(app_secret: str, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why a POST is not signed by the Meta app with SHA-256, or None when it is."""
    given = headers.get("X-Hub-Signature-256") or ""
    if not given:
        return "no sha256 signature"
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"sha256={digest}".encode(), given.encode("utf-8", "replace")):
        return "bad sha256 signature"
    return None


def quick_reply_title(title: str) -> str:
    if len(title) <= QUICK_REPLY_TITLE_LIMIT:
        return title
    return title[: QUICK_REPLY_TITLE_LIMIT - 1].rstrip() + "…"


def sources_card(sources: Sequence[Source]) -> dict[str, Any]:
    """A button template: the sources' titles, and a button opening each page."""
    shown = list(sources[:MAX_URL_BUTTONS])
    if len(sources) > MAX_URL_BUTTONS:
        logger.warning("Messenger shows at most %s URL buttons", MAX_URL_BUTTONS)
    if len(shown) == 1:
        text = f"Source: {shown[0].title}"
        titles = ["Open the page"]
    else:
        text = "\n".join(["Sources:", *(f"{n}. {s.title}" for n, s in enumerate(shown, 1))])
        titles = [f"Open source {n}" for n in range(1, len(shown) + 1)]
    if len(text) > TEMPLATE_TEXT_LIMIT:
        text = text[: TEMPLATE_TEXT_LIMIT - 1].rstrip() + "…"
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": text,
                "buttons": [
                    {"type": "web_url", "url": source.url, "title": title}
                    for source, title in zip(shown, titles, strict=True)
                ],
            },
        }
    }


def render(
    text: str | None, buttons: Sequence[dict[str, Any]] = (), sources: Sequence[Source] = ()
) -> list[dict[str, Any]]:
    """Send API `message` objects for one reply."""
    messages: list[dict[str, Any]] = [
        {"text": part}
        for part in split_text(text or ("" if sources or not buttons else CHOOSE), MESSAGE_LIMIT)
    ]
    if sources:
        messages.append(sources_card(sources))
    if buttons:
        if len(buttons) > MAX_QUICK_REPLIES:
            logger.warning("Messenger shows at most %s quick replies", MAX_QUICK_REPLIES)
        messages[-1]["quick_replies"] = [
            {
                "content_type": "text",
                "title": quick_reply_title(button["title"]),
                "payload": button["payload"],
            }
            for button in buttons[:MAX_QUICK_REPLIES]
        ]
    return messages


def incoming(payload: Any) -> Iterator[tuple[str, str]]:
    """(sender id, text) for every message, quick reply and postback in a webhook call."""
    if not isinstance(payload, dict):
        return
    for entry in payload.get("entry") or []:
        events = entry.get("messaging") if isinstance(entry, dict) else None
        for event in events or []:
            if not isinstance(event, dict):
                continue
            sender = str((event.get("sender") or {}).get("id") or "")
            message = event.get("message")
            postback = event.get("postback")
            text = None
            if isinstance(message, dict) and not message.get("is_echo"):
                text = (message.get("quick_reply") or {}).get("payload") or message.get("text")
            elif isinstance(postback, dict):
                text = postback.get("payload")
            if sender and isinstance(text, str) and text.strip():
                yield sender, text


class MessengerOutput(webhooks.RenderedOutput[FacebookSettings]):
    platform = "facebook"
    render = staticmethod(render)

    async def post(self, recipient_id: str, message: dict[str, Any]) -> None:
        body = {
            "recipient": {"id": platform_id(MESSENGER, recipient_id)},
            "messaging_type": "RESPONSE",
            "message": message,
        }
        await webhooks.call_api(
            "Messenger Send API",
            "POST",
            f"{self.settings.graph_url.rstrip('/')}/me/messages",
            json=body,
            params={"access_token": self.settings.page_access_token},
        )


class FacebookInput(webhooks.ProviderWebhook, StockFacebookInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(webhooks.channel_settings("facebook"))

    def __init__(self, settings: FacebookSettings) -> None:
        super().__init__(settings.verify_token, settings.app_secret, settings.page_access_token)
        self.settings = settings

    def blueprint(self, on_new_message: webhooks.OnNewMessage) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.route("/webhook", methods=["GET"])
        async def verify_subscription(request: Request) -> HTTPResponse:
            """Meta's check when the webhook is set up: echo the challenge for our token."""
            token = request.args.get("hub.verify_token") or ""
            if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), self.settings.verify_token.encode()
            ):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("Refused a Messenger webhook verification: wrong verify token")
            return response.text("Forbidden", status=HTTPStatus.FORBIDDEN)

        return webhook

    async def receive(
        self, request: Request, on_new_message: webhooks.OnNewMessage
    ) -> HTTPResponse:
        for sender, text in incoming(webhooks.json_body(request)):
            output = self.get_output_channel()
            conversation = conversation_id(MESSENGER, sender)
            await self.hand_over(on_new_message, request, text, output, conversation)
        return response.text("success")  # 200 even after a failure, or Meta sends it again

    async def check(self, request: Request) -> str | None:
        return signature_problem(self.settings.app_secret, request.headers, request.body)

    def get_output_channel(self) -> OutputChannel:
        return MessengerOutput(self.settings)
