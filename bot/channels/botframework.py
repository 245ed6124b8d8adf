"""Microsoft Teams through the Bot Framework (`/webhooks/botframework/webhook`).

Every activity must carry a JWT from the Bot Connector service in `Authorization: Bearer`,
checked as Microsoft documents: RS256, signed by a key from the OpenID configuration
(BOTFRAMEWORK_OPENID_URL -> jwks_uri) that is endorsed for the activity's channel, issuer
BOTFRAMEWORK_ISSUER, audience the bot's app id, not expired (5 minutes of clock skew), and a
`serviceurl` claim equal to the activity's serviceUrl, because replies are sent to that URL.
Anything else gets 403. (Stock Rasa 3.6 skips the issuer, endorsement and serviceUrl checks,
answers 401, and fetches keys with blocking calls from a fixed Microsoft URL.)

Replies are posted to the activity's serviceUrl with a token from BOTFRAMEWORK_TOKEN_URL
(client credentials), in parts of at most 4000 characters of Teams markdown (each source a
link showing the page title); options become a hero card whose buttons send the option's
payload (messageBack) and show its title.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import jwt
from rasa.core.channels.botframework import BotFrameworkInput as StockBotFrameworkInput
from rasa.core.channels.channel import InputChannel
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import webhooks
from bot.channels.conversations import TEAMS, conversation_id, platform_id
from bot.channels.replies import CHOOSE, Source, sources_paragraph, split_text, with_paragraph
from bot.settings import BotFrameworkSettings

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4000
MAX_BUTTONS = 6
CLOCK_SKEW_SECONDS = 5 * 60
KEYS_MAX_AGE_SECONDS = 24 * 60 * 60
# An unknown key id refetches the keys, but not more often than this.
KEYS_MIN_REFRESH_SECONDS = 5 * 60
TOKEN_SCOPE = "https://api.botframework.com/.default"
HERO_CARD = "application/vnd.microsoft.card.hero"
_MENTION = re.compile(r"<at>[^<]*</at>")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
_URL_UNSAFE = {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "[": "%5B", "]": "%5D"}


class SigningKeys:
    """The Bot Connector's signing keys (JWKs by key id), fetched when first needed."""

    def __init__(self, openid_url: str, keys: Sequence[dict[str, Any]] | None = None) -> None:
        self.openid_url = openid_url
        self.keys: dict[str, dict[str, Any]] = {}
        self.fetched_at: float | None = None
        self._lock = asyncio.Lock()
        if keys is not None:
            self._keep(keys)

    def _keep(self, keys: Sequence[Any]) -> None:
        self.keys = {
            k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)
        }
        self.fetched_at = time.monotonic()

    async def get(self, key_id: str) -> dict[str, Any] | None:
        async with self._lock:
            age = None if self.fetched_at is None else time.monotonic() - self.fetched_at
            if (
                age is None
                or age > KEYS_MAX_AGE_SECONDS
                or (key_id not in self.keys and age > KEYS_MIN_REFRESH_SECONDS)
            ):
                await self._refresh()
        return self.keys.get(key_id)

    async def _refresh(self) -> None:
        self.fetched_at = time.monotonic()  # a failure is retried later, not on every request
        config = await webhooks.call_api(
            "Bot Framework OpenID configuration", "GET", self.openid_url
        )
        jwks_uri = config.get("jwks_uri") if isinstance(config, dict) else None
        if not isinstance(jwks_uri, str):
            logger.error("No jwks_uri in the OpenID configuration at %s", self.openid_url)
            return
        jwks = await webhooks.call_api("Bot Framework signing keys", "GET", jwks_uri)
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if isinstance(keys, list):
            self._keep(keys)


async def token_problem(
    authorization: str | None,
    activity: Any,
    settings: BotFrameworkSettings,
    keys: SigningKeys,
) -> str | None:
    """Why an activity is not from the Bot Connector service for this bot, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme != "Bearer" or not token:
        return "no bearer token"
    if not isinstance(activity, dict):
        return "not an activity"
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return "malformed token"
    if header.get("alg") != "RS256":
        return f"algorithm {header.get('alg')!r} is not RS256"
    key_id = header.get("kid")
    jwk = await keys.get(key_id) if isinstance(key_id, str) else None
    if jwk is None:
        return "unknown signing key"
    endorsements = jwk.get("endorsements")
    if isinstance(endorsements, list) and activity.get("channelId") not in endorsements:
        return "signing key not endorsed for this channel"
    try:
        claims = jwt.decode(
            token,
            key=jwt.PyJWK(jwk, algorithm="RS256").key,
            algorithms=["RS256"],
            audience=settings.app_id,
            issuer=settings.issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.PyJWTError as error:
        return f"invalid token ({error})"
    if not activity.get("serviceUrl") or claims.get("serviceurl") != activity.get("serviceUrl"):
        return "serviceUrl is not the one in the token"
    return None


def link(source: Source) -> str:
    """A markdown link showing the page title: `[title](url)`, both escaped."""
    url = "".join(_URL_UNSAFE.get(ch, ch) for ch in source.url)
    title = _MARKDOWN.sub(r"\\\1", source.title)
    return f"[{title}]({url})"


def render(
    text: str | None, buttons: Sequence[dict[str, Any]] = (), sources: Sequence[Source] = ()
) -> list[dict[str, Any]]:
    """Reply activities (without from, recipient, conversation) for one reply."""
    body = with_paragraph(text, sources_paragraph(sources, link))
    messages: list[dict[str, Any]] = [
        {"type": "message", "text": part}
        for part in split_text(body or (CHOOSE if buttons else ""), MESSAGE_LIMIT)
    ]
    if buttons:
        if len(buttons) > MAX_BUTTONS:
            logger.warning("Teams shows at most %s buttons on a card", MAX_BUTTONS)
        card_buttons = [
            {
                "type": "messageBack",
                "title": button["title"],
                "text": button["payload"],
                "displayText": button["title"],
            }
            for button in buttons[:MAX_BUTTONS]
        ]
        messages[-1]["attachments"] = [
            {"contentType": HERO_CARD, "content": {"buttons": card_buttons}}
        ]
    return messages


_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}


async def access_token(settings: BotFrameworkSettings) -> str | None:
    """A token for the Bot Connector API (client credentials), reused until near its expiry."""
    cache_key = (settings.token_url, settings.app_id)
    cached = _TOKENS.get(cache_key)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    form = {
        "grant_type": "client_credentials",
        "client_id": settings.app_id,
        "client_secret": settings.app_password,
        "scope": TOKEN_SCOPE,
    }
    answer = await webhooks.call_api("Bot Framework token", "POST", settings.token_url, data=form)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str):
        logger.error("No access token from %s: replies cannot be sent", settings.token_url)
        return None
    try:
        lifetime = int(answer.get("expires_in", 3600))
    except (TypeError, ValueError):
        lifetime = 3600
    _TOKENS[cache_key] = (token, time.monotonic() + max(lifetime - 300, 0))
    return token


class BotFrameworkOutput(webhooks.RenderedOutput[BotFrameworkSettings]):
    """Replies into the conversation an activity came from, at that activity's serviceUrl."""

    platform = "botframework"
    render = staticmethod(render)

    def __init__(self, settings: BotFrameworkSettings, activity: dict[str, Any]) -> None:
        super().__init__(settings)
        self.service_url = str(activity["serviceUrl"])
        self.conversation = activity["conversation"]
        self.bot = activity.get("recipient")
        self.reply_to = activity.get("id")

    async def post(self, recipient_id: str, message: dict[str, Any]) -> None:
        token = await access_token(self.settings)
        if token is None:
            return
        conversation = quote(str(self.conversation["id"]), safe="")
        url = f"{self.service_url.rstrip('/')}/v3/conversations/{conversation}/activities"
        headers = {"Authorization": f"Bearer {token}"}
        body = {
            **message,
            "from": self.bot,
            "recipient": {"id": platform_id(TEAMS, recipient_id)},
            "conversation": self.conversation,
        }
        if self.reply_to:
            body["replyToId"] = self.reply_to
        await webhooks.call_api("Bot Framework reply", "POST", url, json=body, headers=headers)


def incoming_text(activity: Any) -> tuple[str, str] | None:
    """(sender id, text) of a message activity, with @mentions of the bot removed."""
    if not isinstance(activity, dict) or activity.get("type") != "message":
        return None
    sender = (activity.get("from") or {}).get("id")
    text = _MENTION.sub("", str(activity.get("text") or "")).strip()
    conversation = activity.get("conversation") or {}
    if not sender or not text or not conversation.get("id"):
        return None
    return str(sender), text


class BotFrameworkInput(webhooks.ProviderWebhook, StockBotFrameworkInput):
    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(webhooks.channel_settings("botframework"))

    def __init__(self, settings: BotFrameworkSettings) -> None:
        # Not the stock __init__: it fetches Microsoft's keys, blocking, at start-up.
        self.app_id = settings.app_id
        self.app_password = settings.app_password
        self.settings = settings
        self.keys = SigningKeys(settings.openid_url)

    async def receive(
        self, request: Request, on_new_message: webhooks.OnNewMessage
    ) -> HTTPResponse:
        activity = webhooks.json_body(request)
        found = incoming_text(activity)
        if found is not None:
            sender, text = found
            output = BotFrameworkOutput(self.settings, activity)
            conversation = conversation_id(TEAMS, sender)
            await self.hand_over(on_new_message, request, text, output, conversation)
        return response.text("success")  # 200 even after a failure, or the connector retries

    async def check(self, request: Request) -> str | None:
        authorization = request.headers.get("Authorization")
        activity = webhooks.json_body(request)
        return await token_problem(authorization, activity, self.settings, self.keys)
