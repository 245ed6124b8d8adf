"""The providers' side of the webhooks: realistic payloads, signed as each provider signs them
(posted with tests.support.http), and the settings that point each channel at the fakes."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
import uuid
from typing import Any

from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from bot.channels.replies import privacy_notice
from tests.support.fakes import FakeProviders

SLACK_SIGNING_SECRET = "slack-signing-secret"
TELEGRAM_SECRET_TOKEN = "telegram-secret-token_1"
FACEBOOK_APP_SECRET = "facebook-app-secret"
FACEBOOK_VERIFY_TOKEN = "facebook-verify-token"
TWILIO_AUTH_TOKEN = "twilio-auth-token"
TWILIO_PUBLIC_URL = "https://careers.example.org"
TWILIO_NUMBER = "+447700900000"
BOTFRAMEWORK_APP_ID = "app-id"


# Every message a provider sends has an id of its own (replays are refused by id).
_UPDATE_IDS = itertools.count(int(time.time()) % 10**6 * 1000)


def message_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex}"


# --- Slack -----------------------------------------------------------------------------
def slack_headers(
    body: bytes, secret: str = SLACK_SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Signed by Slack's own SDK (slack_sdk's SignatureVerifier), the reference signer."""
    sent_at = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=sent_at, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": sent_at, "X-Slack-Signature": signature}


# The feedback buttons as Slack receives them: an actions block.
SLACK_FEEDBACK_BUTTONS = {
    "type": "actions",
    "elements": [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Helpful"},
            "value": "/feedback_helpful",
            "action_id": "option-1",
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Not helpful"},
            "value": "/feedback_not_helpful",
            "action_id": "option-2",
        },
    ],
}


def slack_message(user: str, channel: str, text: str, event_id: str | None = None) -> bytes:
    """An Events API callback: a direct message to the app."""
    return json.dumps(
        {
            "token": "verification-token-unused",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": {
                "type": "message",
                "channel": channel,
                "user": user,
                "text": text,
                "ts": "1700000000.000100",
                "event_ts": "1700000000.000100",
                "channel_type": "im",
            },
            "type": "event_callback",
            "event_id": event_id or message_id("Ev"),
            "event_time": 1700000000,
            "authorizations": [{"user_id": "UBOT", "is_bot": True}],
        }
    ).encode()


def slack_click(user: str, channel: str, value: str) -> bytes:
    """An interactivity request: the user clicked a button whose value is `value`."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "learner"},
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"ts": "1700000000.000200", "type": "message"},
        "actions": [
            {
                "type": "button",
                "action_id": "option-1",
                "block_id": "b1",
                "value": value,
                "action_ts": "1700000001.000300",
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


# --- Telegram --------------------------------------------------------------------------
def _telegram_update(update_id: int, **update: dict[str, Any]) -> bytes:
    """An Update (numbered `update_id`) holding one kind of update: a message, a button."""
    return json.dumps({"update_id": update_id, **update}).encode()


def _sam(chat_id: int) -> dict[str, Any]:
    """The user who writes in the private chat `chat_id`."""
    return {"id": chat_id, "is_bot": False, "first_name": "Sam"}


def telegram_message(chat_id: int, text: str, update_id: int | None = None) -> bytes:
    update_id = next(_UPDATE_IDS) if update_id is None else update_id
    message = {
        "message_id": update_id,
        "from": _sam(chat_id),
        "chat": {"id": chat_id, "first_name": "Sam", "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    return _telegram_update(update_id, message=message)


def telegram_click(chat_id: int, data: str, update_id: int | None = None) -> bytes:
    update_id = next(_UPDATE_IDS) if update_id is None else update_id
    bots_message = {
        "message_id": 99,
        "chat": {"id": chat_id, "type": "private"},
        "date": int(time.time()),
        "text": "(the bot's message)",
    }
    click = {
        "id": f"cb-{update_id}",
        "from": _sam(chat_id),
        "message": bots_message,
        "chat_instance": "42",
        "data": data,
    }
    return _telegram_update(update_id, callback_query=click)


def telegram_headers(secret: str | None = TELEGRAM_SECRET_TOKEN) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return headers


# --- Facebook Messenger ----------------------------------------------------------------
def messenger_event(psid: str, message: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "PAGE-1",
                    "time": int(time.time() * 1000),
                    "messaging": [
                        {
                            "sender": {"id": psid},
                            "recipient": {"id": "PAGE-1"},
                            "timestamp": int(time.time() * 1000),
                            "message": {"mid": "m_1", **message},
                        }
                    ],
                }
            ],
        }
    ).encode()


def messenger_headers(
    body: bytes, secret: str = FACEBOOK_APP_SECRET, algorithms: tuple[str, ...] = ("sha256",)
) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    for algorithm in algorithms:
        digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()
        name = "X-Hub-Signature-256" if algorithm == "sha256" else "X-Hub-Signature"
        headers[name] = f"{algorithm}={digest}"
    return headers


# --- Twilio ----------------------------------------------------------------------------
def sms_form(sender: str, text: str, message_sid: str | None = None) -> dict[str, str]:
    """An incoming SMS as Twilio posts it for a UK number, blank location fields included."""
    sid = message_sid or message_id("SM")
    return {
        "ToCountry": "GB",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": text,
        "FromCountry": "GB",
        "To": TWILIO_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def twilio_headers(
    url: str, form: dict[str, str], token: str = TWILIO_AUTH_TOKEN
) -> dict[str, str]:
    """Signed by Twilio's own SDK (twilio's RequestValidator), the reference signer."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, form),
    }


# --- Bot Framework ---------------------------------------------------------------------
def teams_activity(user: str, conversation: str, text: str, service_url: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"activity-{user}",
        "timestamp": "2024-01-01T12:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": user, "name": "Sam", "aadObjectId": "00000000-0000-0000-0000-000000000001"},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": "t-1"},
        "recipient": {"id": "28:app-id", "name": "NHS careers"},
        "text": text,
        "textFormat": "plain",
        "locale": "en-GB",
    }


# The feedback buttons as Teams receives them: a hero card of messageBack buttons.
TEAMS_FEEDBACK_CARD = {
    "contentType": "application/vnd.microsoft.card.hero",
    "content": {
        "buttons": [
            {
                "type": "messageBack",
                "title": "Helpful",
                "text": "/feedback_helpful",
                "displayText": "Helpful",
            },
            {
                "type": "messageBack",
                "title": "Not helpful",
                "text": "/feedback_not_helpful",
                "displayText": "Not helpful",
            },
        ]
    },
}


def bearer(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


PRIVACY_URL = "https://careers.example.org/privacy"
# The line the first reply of each new conversation starts with (retention at its default).
NOTICE = privacy_notice(30, PRIVACY_URL)


def channel_env(fakes: FakeProviders) -> dict[str, str]:
    """Every channel's variables, with each provider's API pointed at the fakes."""
    return {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_API_URL": fakes.api("/slack/api/"),
        "TELEGRAM_BOT_TOKEN": "123456:TEST-telegram-token",
        "TELEGRAM_WEBHOOK_URL": "https://careers.example.org/webhooks/telegram/webhook",
        "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET_TOKEN,
        "TELEGRAM_API_URL": fakes.api("/telegram"),
        "FACEBOOK_PAGE_ACCESS_TOKEN": "page-access-token",
        "FACEBOOK_APP_SECRET": FACEBOOK_APP_SECRET,
        "FACEBOOK_VERIFY_TOKEN": FACEBOOK_VERIFY_TOKEN,
        "FACEBOOK_GRAPH_URL": fakes.api("/graph/v21.0"),
        "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_NUMBER": TWILIO_NUMBER,
        "TWILIO_PUBLIC_URL": TWILIO_PUBLIC_URL,
        "TWILIO_API_URL": fakes.api("/twilio"),
        "BOTFRAMEWORK_APP_ID": BOTFRAMEWORK_APP_ID,
        "BOTFRAMEWORK_APP_PASSWORD": "app-password",
        "BOTFRAMEWORK_OPENID_URL": fakes.api("/botframework/openid"),
        "BOTFRAMEWORK_TOKEN_URL": fakes.api("/botframework/token"),
        # What the first reply of a new conversation links to (NOTICE).
        "PRIVACY_URL": PRIVACY_URL,
    }
