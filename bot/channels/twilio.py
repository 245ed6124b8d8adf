"""SMS through Twilio (`/webhooks/twilio/webhook`), with Twilio's request signature checked.

Stock Rasa 3.6 does not check X-Twilio-Signature at all. Twilio signs each webhook call as it
documents: base64 of HMAC-SHA1, keyed with the auth token, over the full URL it called
followed by every POST field sorted by name, name and value concatenated. Behind a proxy the
URL Twilio called is not the one Rasa sees, so it is rebuilt from TWILIO_PUBLIC_URL and the
request's path and query. An unsigned or wrongly signed request gets 403. The form is read
from the raw body with blank values kept: Twilio signs every field, and UK numbers often come
with blank ones (`FromCity=`, `ToZip=`), which Sanic's `request.form` drops. A MessageSid seen
before is acknowledged and not answered again (bot/channels/replays.py).

Replies go to Twilio's Messages API at TWILIO_API_URL in parts of at most 1600 characters.
SMS has no buttons: options are numbered ("Reply with a number: 1. Helpful 2. Not helpful"),
and a reply that is only a number is turned into that option's payload before it reaches the
assistant (the options are those of the assistant's latest reply, read from the tracker).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel
from rasa.core.channels.twilio import TwilioInput as StockTwilioInput
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import webhooks
from bot.channels.conversations import SMS, conversation_id, platform_id
from bot.channels.replays import SeenIds
from bot.channels.replies import (
    Source,
    numbered_options,
    option_number,
    option_payload,
    plain_sources,
    split_text,
)
from bot.settings import TwilioSettings

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 1600
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
DEFAULT_PORTS = {"https": 443, "http": 80}


def form_fields(body: bytes) -> dict[str, list[str]]:
    """The POSTed form as Twilio signs it: every field, blank ones included."""
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def field(form: Mapping[str, Sequence[str]], name: str) -> str:
    """The first value of `name` in the form, or ""."""
    values = form.get(name) or [""]
    return values[0]


def signature(auth_token: str, url: str, form: Mapping[str, Sequence[str]]) -> str:
    """X-Twilio-Signature for a POST of `form` to `url`."""
    # As Twilio's own RequestValidator: a value repeated under one name counts once.
    signed = url + "".join(
        name + value for name in sorted(form) for value in sorted(set(form[name]))
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_variants(url: str) -> Iterable[str]:
    """The URL, then with its default port dropped or added (Twilio signs either form)."""
    yield url
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is not None and parts.port == default:
        yield urlunsplit(parts._replace(netloc=host))
    elif parts.port is None and default is not None:
        yield urlunsplit(parts._replace(netloc=f"{host}:{default}"))


def signature_problem(
    auth_token: str, url: str, form: Mapping[str, Sequence[str]], headers: Mapping[str, str]
) -> str | None:
    """Why a POST is not signed by Twilio for `url` (the public one), or None when it is."""
    given = (headers.get("X-Twilio-Signature") or "").encode("utf-8", "replace")
    if not given:
        return "no signature"
    for candidate in url_variants(url):
        if hmac.compare_digest(signature(auth_token, candidate, form).encode(), given):
            return None
    return "bad signature"


def public_url(settings: TwilioSettings, path: str, query: str) -> str:
    """The URL Twilio called: TWILIO_PUBLIC_URL, then the path and query Rasa received."""
    return settings.public_url.rstrip("/") + path + (f"?{query}" if query else "")


def render(
    text: str | None, buttons: Sequence[dict[str, Any]] = (), sources: Sequence[Source] = ()
) -> list[str]:
    """SMS bodies for one reply: the text, its sources (title and raw URL), numbered options."""
    parts = [text.strip()] if text and text.strip() else []
    if sources:
        parts.append(plain_sources(sources))
    if buttons:
        parts.append(numbered_options(buttons))
    return split_text("\n\n".join(parts), MESSAGE_LIMIT)


class TwilioOutput(webhooks.RenderedOutput[TwilioSettings]):
    platform = "twilio"
    render = staticmethod(render)

    async def post(self, recipient_id: str, message: str) -> None:
        settings = self.settings
        url = (
            f"{settings.api_url.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}"
            "/Messages.json"
        )
        auth = aiohttp.BasicAuth(settings.account_sid, settings.auth_token)
        form = {"To": platform_id(SMS, recipient_id), "From": settings.number, "Body": message}
        await webhooks.call_api("Twilio Messages API", "POST", url, data=form, auth=auth)


class TwilioInput(webhooks.ProviderWebhook, StockTwilioInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(webhooks.channel_settings("twilio"))

    def __init__(self, settings: TwilioSettings) -> None:
        super().__init__(
            settings.account_sid, settings.auth_token, settings.number, debug_mode=False
        )
        self.settings = settings
        self.seen = SeenIds()

    async def receive(
        self, request: Request, on_new_message: webhooks.OnNewMessage
    ) -> HTTPResponse:
        form = form_fields(request.body)
        sender, text = field(form, "From"), field(form, "Body")
        message_id = field(form, "MessageSid")
        if message_id and not self.seen.first_time(message_id):
            logger.info("Twilio sent message %s again: acknowledged, not answered", message_id)
        elif sender and text.strip():
            conversation = conversation_id(SMS, sender)
            text = text.replace("¡", "@")  # some carriers turn @ into ¡ (as stock Rasa)
            if option_number(text) is not None:
                options = await webhooks.latest_options(request, conversation)
                text = option_payload(text, options) or text
            output = self.get_output_channel()
            await self.hand_over(on_new_message, request, text, output, conversation)
        # 200 even after a failure (Twilio would log an error)
        return response.text(EMPTY_TWIML, content_type="text/xml")

    async def check(self, request: Request) -> str | None:
        url = public_url(self.settings, request.path, request.query_string)
        form = form_fields(request.body)
        return signature_problem(self.settings.auth_token, url, form, request.headers)

    def get_output_channel(self) -> OutputChannel:
        return TwilioOutput(self.settings)
