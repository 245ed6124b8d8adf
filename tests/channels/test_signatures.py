"""Each provider's request check, on its own: genuine requests pass, anything else is refused."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import Any

import pytest
from multidict import MultiDict
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from bot.channels import botframework, facebook, slack, telegram, twilio
from bot.settings import BotFrameworkSettings
from tests.support import providers as clients
from tests.support.fakes import (
    KEY_ID,
    bot_connector_token,
    fake_providers,
    public_jwk,
    rsa_key,
)

# --- Slack -----------------------------------------------------------------------------
BODY = b'{"type":"event_callback","event":{"type":"message","text":"hi"}}'
SECRET = clients.SLACK_SIGNING_SECRET
NOW = 1_700_000_000


def test_slack_accepts_a_signed_request_made_within_five_minutes() -> None:
    for sent_at in [NOW, NOW - 300, NOW + 300]:
        headers = clients.slack_headers(BODY, timestamp=sent_at)
        assert slack.signature_problem(SECRET, headers, BODY, NOW) is None


def test_slack_signatures_made_by_slacks_own_sdk_are_accepted() -> None:
    now = int(time.time())
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=str(now), body=BODY)
    headers = {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": str(signature)}
    assert slack.signature_problem(SECRET, headers, BODY, now) is None
    assert SignatureVerifier(SECRET).is_valid_request(BODY, clients.slack_headers(BODY))


def test_slack_known_signature() -> None:
    """Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack)."""
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": (
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        ),
    }
    assert slack.signature_problem(secret, headers, body, now=1531420618 + 60) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no signature"),
        (clients.slack_headers(BODY, secret="other", timestamp=NOW), "bad signature"),
        (clients.slack_headers(BODY + b" ", timestamp=NOW), "bad signature"),
        (clients.slack_headers(BODY, timestamp=NOW - 301), "a replay"),
        (clients.slack_headers(BODY, timestamp=NOW + 301), "a replay"),
        ({"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}, "malformed"),
        (
            {**clients.slack_headers(BODY, timestamp=NOW), "X-Slack-Signature": "v0=é"},
            "bad signature",
        ),
    ],
)
def test_slack_refuses(headers: dict[str, str], reason: str) -> None:
    problem = slack.signature_problem(SECRET, headers, BODY, NOW)
    assert problem is not None and reason in problem


# --- Facebook --------------------------------------------------------------------------
FB_SECRET = clients.FACEBOOK_APP_SECRET


def test_messenger_accepts_sha256_signatures() -> None:
    for algorithms in [("sha256",), ("sha256", "sha1")]:
        headers = clients.messenger_headers(BODY, algorithms=algorithms)
        assert facebook.signature_problem(FB_SECRET, headers, BODY) is None


def test_messenger_refuses_a_genuine_sha1_signature_alone() -> None:
    """No fall-back to SHA-1 when the SHA-256 header is missing (issue 14, item 4)."""
    headers = clients.messenger_headers(BODY, algorithms=("sha1",))
    assert facebook.signature_problem(FB_SECRET, headers, BODY) == "no sha256 signature"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": ""},
        clients.messenger_headers(BODY, secret="other"),
        clients.messenger_headers(BODY, secret="other", algorithms=("sha1",)),
        clients.messenger_headers(BODY + b"x"),
        # The sha256 value sent in the sha1 header (or the algorithm name swapped).
        {"X-Hub-Signature": clients.messenger_headers(BODY)["X-Hub-Signature-256"]},
        {"X-Hub-Signature-256": "sha1=" + "0" * 40},
        # A bad sha256 signature is not saved by a good sha1 one.
        {
            **clients.messenger_headers(BODY, algorithms=("sha1",)),
            "X-Hub-Signature-256": "sha256=" + "0" * 64,
        },
    ],
)
def test_messenger_refuses(headers: dict[str, str]) -> None:
    assert facebook.signature_problem(FB_SECRET, headers, BODY) is not None


# --- Twilio ----------------------------------------------------------------------------
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_FORM = {
    "CallSid": ["CA1234567890ABCDE"],
    "Caller": ["+12349013030"],
    "Digits": ["1234"],
    "From": ["+12349013030"],
    "To": ["+18005551212"],
}


def test_twilio_signature_is_twilios() -> None:
    """The example in Twilio's security documentation, and Twilio's own library, agree."""
    assert twilio.signature("12345", DOC_URL, DOC_FORM) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    form = clients.sms_form("+447700900123", "What does an AP do? £ é")
    flat = {name: [value] for name, value in form.items()}
    url = "https://careers.example.org/webhooks/twilio/webhook"
    assert twilio.signature("tok", url, flat) == RequestValidator("tok").compute_signature(
        url, form
    )


def test_twilio_form_with_blank_fields_signed_by_twilios_library_is_accepted() -> None:
    """Twilio signs every field, blank ones included (FromCity=, ToZip= on UK numbers)."""
    form = clients.sms_form("+447700900123", "hello")
    assert form["FromCity"] == "" and form["ToZip"] == ""
    url = "https://careers.example.org/webhooks/twilio/webhook"
    headers = {"X-Twilio-Signature": RequestValidator("tok").compute_signature(url, form)}
    body = urllib.parse.urlencode(form).encode()
    assert twilio.signature_problem("tok", url, twilio.form_fields(body), headers) is None
    # Parsed as Sanic's request.form parses it (blank values dropped), it would be refused.
    dropped = urllib.parse.parse_qs(body.decode())
    assert twilio.signature_problem("tok", url, dropped, headers) == "bad signature"


def test_twilio_a_repeated_value_counts_once_as_in_twilios_library() -> None:
    url = "https://careers.example.org/webhooks/twilio/webhook"
    form = {"Body": ["a", "a", "b"], "From": ["+44"]}
    pairs = [(name, value) for name, values in form.items() for value in values]
    expected = RequestValidator("tok").compute_signature(url, MultiDict(pairs))
    assert twilio.signature("tok", url, form) == expected


def test_twilio_accepts_a_signed_request_with_or_without_the_default_port() -> None:
    headers = {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    assert twilio.signature_problem("12345", DOC_URL, DOC_FORM, headers) is None
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert twilio.signature_problem("12345", with_port, DOC_FORM, headers) is None


@pytest.mark.parametrize(
    ("token", "url", "form", "headers"),
    [
        ("12345", DOC_URL, DOC_FORM, {}),
        ("other", DOC_URL, DOC_FORM, {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}),
        (
            "12345",
            DOC_URL + "&x=1",
            DOC_FORM,
            {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
        ),
        (
            "12345",
            DOC_URL,
            {**DOC_FORM, "Digits": ["9999"]},
            {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
        ),
        (
            "12345",
            DOC_URL.replace("https", "http"),
            DOC_FORM,
            {"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
        ),
    ],
)
def test_twilio_refuses(
    token: str, url: str, form: dict[str, list[str]], headers: dict[str, str]
) -> None:
    assert twilio.signature_problem(token, url, form, headers) is not None


def test_twilio_public_url_replaces_what_rasa_sees() -> None:
    settings_url = twilio.public_url(
        twilio_settings("https://careers.example.org/"), "/webhooks/twilio/webhook", "a=1"
    )
    assert settings_url == "https://careers.example.org/webhooks/twilio/webhook?a=1"


def twilio_settings(public_url: str) -> Any:
    from bot.settings import TwilioSettings

    return TwilioSettings(account_sid="AC1", auth_token="t", number="+44", public_url=public_url)


# --- Telegram --------------------------------------------------------------------------
def test_telegram_secret_token() -> None:
    secret = clients.TELEGRAM_SECRET_TOKEN
    header = "X-Telegram-Bot-Api-Secret-Token"
    assert telegram.secret_token_problem(secret, {header: secret}) is None
    assert telegram.secret_token_problem(secret, {}) == "no secret token"
    assert telegram.secret_token_problem(secret, {header: secret[:-1]}) == "wrong secret token"
    assert telegram.secret_token_problem(secret, {header: "é"}) == "wrong secret token"


# --- Bot Framework ---------------------------------------------------------------------
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
SETTINGS = BotFrameworkSettings(app_id="app-id", app_password="pw")
KEY = rsa_key()
ACTIVITY = {"type": "message", "channelId": "msteams", "serviceUrl": SERVICE_URL}


def keys() -> botframework.SigningKeys:
    return botframework.SigningKeys(
        "http://127.0.0.1:9/unused", keys=[public_jwk(KEY, KEY_ID, ["msteams"])]
    )


async def problem(token: str | None, activity: Any = ACTIVITY) -> str | None:
    authorization = None if token is None else f"Bearer {token}"
    return await botframework.token_problem(authorization, activity, SETTINGS, keys())


async def test_botframework_accepts_a_connector_token() -> None:
    assert await problem(bot_connector_token(KEY, serviceurl=SERVICE_URL)) is None


async def test_botframework_allows_five_minutes_of_clock_skew() -> None:
    now = int(time.time())
    token = bot_connector_token(KEY, serviceurl=SERVICE_URL, exp=now - 200)
    assert await problem(token) is None


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "another-app"}, "Audience"),
        ({"iss": "https://sts.windows.net/evil/"}, "issuer"),
        ({"exp": int(time.time()) - 400}, "expired"),
        ({"exp": None}, "exp"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"serviceurl": "https://attacker.example/"}, "serviceUrl"),
        ({"serviceurl": None}, "serviceUrl"),
    ],
)
async def test_botframework_refuses_bad_claims(claims: dict[str, Any], reason: str) -> None:
    found = await problem(bot_connector_token(KEY, **{"serviceurl": SERVICE_URL, **claims}))
    assert found is not None and reason in found


async def test_botframework_refuses_bad_tokens() -> None:
    assert await problem(None) == "no bearer token"
    assert await problem("") == "no bearer token"
    assert await problem("garbage") == "malformed token"
    other_key = bot_connector_token(rsa_key(), serviceurl=SERVICE_URL)
    assert "Signature verification failed" in str(await problem(other_key))
    unknown = bot_connector_token(KEY, key_id="another-key", serviceurl=SERVICE_URL)
    assert await problem(unknown) == "unknown signing key"
    import jwt

    hs256 = jwt.encode({"aud": "app-id"}, "pw", algorithm="HS256", headers={"kid": KEY_ID})
    assert "RS256" in str(await problem(hs256))
    valid = bot_connector_token(KEY, serviceurl=SERVICE_URL)
    assert await problem(valid, {**ACTIVITY, "channelId": "webchat"}) == (
        "signing key not endorsed for this channel"
    )
    assert await problem(valid, ["not", "an", "activity"]) == "not an activity"


def test_signing_keys_come_from_the_openid_configuration_and_are_not_refetched_often() -> None:
    async def look_up(signing_keys: botframework.SigningKeys) -> None:
        assert (await signing_keys.get(KEY_ID) or {}).get("kid") == KEY_ID
        assert await signing_keys.get("unknown") is None  # within 5 minutes: no new fetch

    with fake_providers() as fakes:
        asyncio.run(look_up(botframework.SigningKeys(fakes.api("/botframework/openid"))))
        fetched = fakes.matching(lambda call: call.path.startswith("/botframework/"))
        assert [call.path for call in fetched] == ["/botframework/openid", "/botframework/keys"]
