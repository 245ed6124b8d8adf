"""Each messaging channel, end to end: signed requests in, replies out to the fake provider.

One real Rasa server and action server for the module (tests/channels/conftest.py), with all
five channels on. Genuine requests get the same answer the REST channel gives, rendered for
the platform; forged, unsigned and replayed ones get 403, and neither reach the assistant
(nothing in the conversation log) nor make it send anything.
"""

from __future__ import annotations

import html
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from actions.feedback import FEEDBACK_BUTTONS, THANKS
from bot import serve
from bot.channels import telegram
from bot.channels.conversations import (
    MESSENGER,
    REST,
    SLACK,
    SMS,
    TEAMS,
    TELEGRAM,
    conversation_id,
)
from bot.channels.replies import Source, sources_from
from bot.channels.slack import escape
from tests.support import http
from tests.support import providers as clients
from tests.support.fakes import Call, FakeProviders, bot_connector_token, rsa_key
from tests.support.logs import ConversationLog
from tests.support.providers import NOTICE

QUESTION = "what does an assistant practitioner do?"
SOURCE_URL = "http://www.nhscareers.nhs.uk/explore-by-career/"
SOURCE_TITLE = "NHS Careers: Radiography assistants and imaging support workers"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Reference:
    """What the assistant answers QUESTION on the REST channel: the reference for every channel."""

    text: str
    sources: list[Source]


@pytest.fixture(scope="module")
def duties_answer(assistant: serve.Running) -> Reference:
    replies = http.Conversation(assistant.rasa_url, unique("rest-reference")).say(QUESTION)
    assert len(replies) == 1, replies
    assert replies[0]["buttons"] == FEEDBACK_BUTTONS
    answer: str = replies[0]["text"]
    assert answer.startswith("What assistant practitioners do:")
    # The source travels as data beside the text (issue 10, item 6), never as a URL in it.
    assert SOURCE_URL not in answer
    sources = sources_from(replies[0])
    assert sources == [Source(SOURCE_TITLE, sources[0].url)], replies[0]
    assert sources[0].url.startswith(SOURCE_URL)
    assert replies[0]["sources"] == [source.as_dict() for source in sources]
    return Reference(answer, sources)


def assert_no_trace(
    log: ConversationLog, fakes: FakeProviders, namespace: str, sender: str, marker: str
) -> None:
    """Nothing of `sender` in the conversation log, and nothing sent mentioning `marker`."""
    assert log.events(conversation_id(namespace, sender)) == []
    assert log.events(sender) == []
    assert (
        fakes.matching(lambda call: marker in json.dumps([call.json, call.form, call.path])) == []
    )


def assert_logged(log: ConversationLog, conversation: str, channel: str, click: str) -> None:
    """The question and the click, in that order, logged as from `channel`."""
    messages = log.user_messages(conversation, at_least=2)
    assert [m["text"] for m in messages] == [QUESTION, click]
    assert {m["input_channel"] for m in messages} == {channel}
    assert log.channel(conversation) == channel


def settle(assistant: serve.Running) -> None:
    """Before looking for the traces of refused requests: a genuine message, answered.

    A request accepted by mistake would be handled before its response (the channels await
    the assistant), or, handed to a task, while this message is: either way its traces would
    be there once this message is answered."""
    http.Conversation(assistant.rasa_url, unique("settle")).say("hello")


# --- Slack -----------------------------------------------------------------------------
def slack_post(assistant: serve.Running, body: bytes, headers: dict[str, str]) -> http.Reply:
    return http.post(f"{assistant.rasa_url}/webhooks/slack/webhook", body, headers)


SLACK_JSON = {"Content-Type": "application/json"}


def to_slack_channel(channel: str) -> Callable[[Call], bool]:
    """A message the assistant posted to Slack's `channel`."""
    return lambda c: (
        c.path == "/slack/api/chat.postMessage" and (c.json or {}).get("channel") == channel
    )


def slack_replies(fakes: FakeProviders, channel: str, count: int = 1) -> list[Call]:
    return fakes.wait_for(to_slack_channel(channel), count)


def test_slack_answers_with_blocks_and_takes_button_clicks(
    assistant: serve.Running,
    fakes: FakeProviders,
    conversation_log: ConversationLog,
    duties_answer: Reference,
) -> None:
    user, channel = unique("U"), unique("D")
    body = clients.slack_message(user, channel, QUESTION)
    headers = {**SLACK_JSON, **clients.slack_headers(body)}
    assert slack_post(assistant, body, headers).status == 200

    [reply] = slack_replies(fakes, channel)
    source = duties_answer.sources[0]
    # A new conversation: the first reply starts with the privacy notice.
    text = (
        f"{escape(NOTICE)}\n\n{escape(duties_answer.text)}\n\nSource: <{source.url}|{SOURCE_TITLE}>"
    )
    assert reply.json == {
        "channel": channel,
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            clients.SLACK_FEEDBACK_BUTTONS,
        ],
    }
    assert reply.headers["Authorization"] == "Bearer xoxb-test-token"

    click = clients.slack_click(user, channel, "/feedback_helpful")
    headers = {"Content-Type": "application/x-www-form-urlencoded", **clients.slack_headers(click)}
    assert slack_post(assistant, click, headers).status == 200
    _, thanks = slack_replies(fakes, channel, count=2)
    assert thanks.json == {
        "channel": channel,
        "text": THANKS["helpful"],
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": THANKS["helpful"]}}],
    }
    assert_logged(conversation_log, conversation_id(SLACK, user), "slack", "/feedback_helpful")


def test_slack_refuses_unsigned_forged_and_replayed_requests(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    user, channel = unique("U-forged"), unique("D-forged")
    body = clients.slack_message(user, channel, QUESTION)
    unsigned = SLACK_JSON
    forged = {**SLACK_JSON, **clients.slack_headers(body, secret="not-the-secret")}
    replayed = {**SLACK_JSON, **clients.slack_headers(body, timestamp=int(time.time()) - 6 * 60)}
    tampered_headers = {**SLACK_JSON, **clients.slack_headers(body)}
    tampered = clients.slack_message(user, channel, "something else")
    for request_body, headers in [
        (body, unsigned),
        (body, forged),
        (body, replayed),
        (tampered, tampered_headers),
    ]:
        answer = slack_post(assistant, request_body, headers)
        assert answer.status == 403, answer
    settle(assistant)
    assert_no_trace(conversation_log, fakes, SLACK, user, channel)


# --- Telegram --------------------------------------------------------------------------
TELEGRAM_API = "/telegram/bot123456:TEST-telegram-token"


def telegram_post(assistant: serve.Running, body: bytes, headers: dict[str, str]) -> http.Reply:
    return http.post(f"{assistant.rasa_url}/webhooks/telegram/webhook", body, headers)


def telegram_sent(fakes: FakeProviders, chat_id: int, count: int = 1) -> list[Call]:
    return fakes.wait_for(
        lambda c: (
            c.path == f"{TELEGRAM_API}/sendMessage"
            and (c.json or {}).get("chat_id") == str(chat_id)
        ),
        count,
    )


def test_telegram_webhook_is_registered_with_the_secret_at_start_up(
    assistant: serve.Running, fakes: FakeProviders
) -> None:
    [registration] = fakes.wait_for(lambda c: c.path == f"{TELEGRAM_API}/setWebhook")
    assert registration.json == {
        "url": "https://careers.example.org/webhooks/telegram/webhook",
        "secret_token": clients.TELEGRAM_SECRET_TOKEN,
        "allowed_updates": ["message", "callback_query"],
    }


def test_telegram_answers_with_an_inline_keyboard_and_takes_clicks(
    assistant: serve.Running,
    fakes: FakeProviders,
    conversation_log: ConversationLog,
    duties_answer: Reference,
) -> None:
    chat_id = int(time.time() * 1000) % 10**9
    answer = telegram_post(
        assistant, clients.telegram_message(chat_id, QUESTION), clients.telegram_headers()
    )
    assert answer.status == 200
    [reply] = telegram_sent(fakes, chat_id)
    source = duties_answer.sources[0]
    link = f'<a href="{html.escape(source.url)}">{SOURCE_TITLE}</a>'
    assert reply.json == {
        "chat_id": str(chat_id),
        "text": html.escape(f"{NOTICE}\n\n{duties_answer.text}", quote=False)
        + f"\n\nSource: {link}",
        "parse_mode": "HTML",
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "Helpful", "callback_data": "/feedback_helpful"}],
                [{"text": "Not helpful", "callback_data": "/feedback_not_helpful"}],
            ]
        },
    }

    click = clients.telegram_click(chat_id, "/feedback_not_helpful", update_id=7)
    assert telegram_post(assistant, click, clients.telegram_headers()).status == 200
    _, thanks = telegram_sent(fakes, chat_id, count=2)
    assert thanks.json == {
        "chat_id": str(chat_id),
        "text": THANKS["not_helpful"],
        "parse_mode": "HTML",
    }
    # This click's answer (other tests in the session click too).
    [answered] = fakes.wait_for(
        lambda c: (
            c.path == f"{TELEGRAM_API}/answerCallbackQuery"
            and (c.json or {}).get("callback_query_id") == "cb-7"
        )
    )
    assert answered.json == {"callback_query_id": "cb-7"}

    assert_logged(
        conversation_log,
        conversation_id(TELEGRAM, str(chat_id)),
        "telegram",
        "/feedback_not_helpful",
    )


def test_telegram_long_payloads_are_numbered_and_looked_up(
    assistant: serve.Running, fakes: FakeProviders
) -> None:
    """Over 64 bytes a payload cannot be callback data: "#2" is mapped back to option 2."""
    # The intent is given directly ("/intent"), so the test does not depend on the NLU model.
    rest = http.Conversation(assistant.rasa_url, unique("rest-compare"))
    [question] = rest.say("/compare_roles")
    titles = [button["title"] for button in question["buttons"]]
    assert len(question["buttons"]) >= 2
    assert all(len(button["payload"].encode()) > 64 for button in question["buttons"])
    [comparison] = rest.say(question["buttons"][1]["payload"])

    chat_id = int(time.time() * 1000) % 10**9 + 1
    body = clients.telegram_message(chat_id, "/compare_roles")
    assert telegram_post(assistant, body, clients.telegram_headers()).status == 200
    [asked] = telegram_sent(fakes, chat_id)
    assert asked.json["text"] == html.escape(f"{NOTICE}\n\n{question['text']}", quote=False)
    assert asked.json["reply_markup"]["inline_keyboard"] == [
        [{"text": title, "callback_data": f"#{number}"}]
        for number, title in enumerate(titles, start=1)
    ]
    click = clients.telegram_click(chat_id, "#2", update_id=8)
    assert telegram_post(assistant, click, clients.telegram_headers()).status == 200
    _, answer = telegram_sent(fakes, chat_id, count=2)
    expected = telegram.render(comparison["text"], [], sources_from(comparison))
    assert answer.json["text"] == expected[0]["text"]  # the comparison, as on REST
    assert comparison["text"] != question["text"]


def test_telegram_refuses_updates_without_the_secret_token(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    chat_id = 555000111
    body = clients.telegram_message(chat_id, QUESTION)
    for headers in [
        clients.telegram_headers(secret=None),
        clients.telegram_headers(secret="wrong-secret"),
        clients.telegram_headers(secret=clients.TELEGRAM_SECRET_TOKEN + "x"),
    ]:
        assert telegram_post(assistant, body, headers).status == 403
    settle(assistant)
    assert_no_trace(conversation_log, fakes, TELEGRAM, str(chat_id), str(chat_id))


# --- Facebook Messenger ----------------------------------------------------------------
def messenger_post(assistant: serve.Running, body: bytes, headers: dict[str, str]) -> http.Reply:
    return http.post(f"{assistant.rasa_url}/webhooks/facebook/webhook", body, headers)


def messenger_sent(fakes: FakeProviders, psid: str, count: int = 1) -> list[Call]:
    return fakes.wait_for(
        lambda c: (
            c.path == "/graph/v21.0/me/messages"
            and (c.json or {}).get("recipient", {}).get("id") == psid
        ),
        count,
    )


def test_messenger_webhook_verification(assistant: serve.Running) -> None:
    webhook = f"{assistant.rasa_url}/webhooks/facebook/webhook"
    base = f"{webhook}?hub.mode=subscribe&hub.challenge=1158201444"
    ok = http.get(f"{base}&hub.verify_token={clients.FACEBOOK_VERIFY_TOKEN}")
    assert (ok.status, ok.body) == (200, "1158201444")
    assert http.get(f"{base}&hub.verify_token=guess").status == 403


def test_messenger_answers_with_quick_replies_and_takes_them(
    assistant: serve.Running,
    fakes: FakeProviders,
    conversation_log: ConversationLog,
    duties_answer: Reference,
) -> None:
    psid = unique("psid")
    body = clients.messenger_event(psid, {"text": QUESTION})
    assert messenger_post(assistant, body, clients.messenger_headers(body)).status == 200
    reply, card = messenger_sent(fakes, psid, count=2)  # the answer, then its source
    assert reply.query == {"access_token": "page-access-token"}
    assert reply.json == {
        "recipient": {"id": psid},
        "messaging_type": "RESPONSE",
        "message": {"text": f"{NOTICE}\n\n{duties_answer.text}"},
    }
    source = duties_answer.sources[0]
    assert card.json == {
        "recipient": {"id": psid},
        "messaging_type": "RESPONSE",
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "button",
                    "text": f"Source: {SOURCE_TITLE}",
                    "buttons": [{"type": "web_url", "url": source.url, "title": "Open the page"}],
                },
            },
            "quick_replies": [
                {"content_type": "text", "title": "Helpful", "payload": "/feedback_helpful"},
                {
                    "content_type": "text",
                    "title": "Not helpful",
                    "payload": "/feedback_not_helpful",
                },
            ],
        },
    }

    # A quick reply, signed with both headers, as Meta sends them.
    quick = clients.messenger_event(
        psid, {"text": "Helpful", "quick_reply": {"payload": "/feedback_helpful"}}
    )
    headers = clients.messenger_headers(quick, algorithms=("sha256", "sha1"))
    assert messenger_post(assistant, quick, headers).status == 200
    _, _, thanks = messenger_sent(fakes, psid, count=3)
    assert thanks.json["message"] == {"text": THANKS["helpful"]}

    assert_logged(
        conversation_log, conversation_id(MESSENGER, psid), "facebook", "/feedback_helpful"
    )


def test_messenger_refuses_bad_or_missing_signatures_with_403(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    psid = unique("psid-forged")
    body = clients.messenger_event(psid, {"text": QUESTION})
    good_sha1 = clients.messenger_headers(body, algorithms=("sha1",))
    bad_sha256 = clients.messenger_headers(body, secret="wrong")
    for headers in [
        {"Content-Type": "application/json"},
        good_sha1,  # no fall-back to SHA-1 when SHA-256 is missing
        bad_sha256,
        clients.messenger_headers(body, secret="wrong", algorithms=("sha1",)),
        # A wrong sha256 signature is not rescued by a right sha1 one.
        {**good_sha1, "X-Hub-Signature-256": bad_sha256["X-Hub-Signature-256"]},
    ]:
        assert messenger_post(assistant, body, headers).status == 403
    settle(assistant)
    assert_no_trace(conversation_log, fakes, MESSENGER, psid, psid)


# --- Twilio SMS ------------------------------------------------------------------------
TWILIO_PATH = "/webhooks/twilio/webhook"


def sms_post(assistant: serve.Running, form: dict[str, str], headers: dict[str, str]) -> http.Reply:
    body = urllib.parse.urlencode(form).encode()
    return http.post(f"{assistant.rasa_url}{TWILIO_PATH}", body, headers)


def sms_sent(fakes: FakeProviders, phone: str, count: int = 1) -> list[Call]:
    return fakes.wait_for(
        lambda c: c.path.startswith("/twilio/") and c.form.get("To") == phone, count
    )


def phone_number() -> str:
    return f"+4477009{uuid.uuid4().int % 10**5:05d}"


def test_sms_numbers_the_options_and_maps_a_number_back(
    assistant: serve.Running,
    fakes: FakeProviders,
    conversation_log: ConversationLog,
    duties_answer: Reference,
) -> None:
    phone = phone_number()
    public = f"{clients.TWILIO_PUBLIC_URL}{TWILIO_PATH}"
    form = clients.sms_form(phone, QUESTION)
    answer = sms_post(assistant, form, clients.twilio_headers(public, form))
    assert answer.status == 200
    assert answer.body == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    source = f"Source: {SOURCE_TITLE}\n{duties_answer.sources[0].url}"  # SMS: the raw URL
    options = "Reply with a number:\n1. Helpful\n2. Not helpful"
    expected = f"{NOTICE}\n\n{duties_answer.text}\n\n{source}\n\n{options}"
    assert len(expected) <= 1600
    [reply] = sms_sent(fakes, phone)
    assert (
        reply.path == "/twilio/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    )
    assert reply.form == {"To": phone, "From": clients.TWILIO_NUMBER, "Body": expected}
    assert reply.headers["Authorization"].startswith("Basic ")

    form = clients.sms_form(phone, "2")
    assert sms_post(assistant, form, clients.twilio_headers(public, form)).status == 200
    _, thanks = sms_sent(fakes, phone, count=2)
    assert thanks.form["Body"] == THANKS["not_helpful"]

    assert_logged(conversation_log, conversation_id(SMS, phone), "twilio", "/feedback_not_helpful")


def test_sms_refuses_unsigned_and_wrongly_signed_requests(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    phone = phone_number()
    form = clients.sms_form(phone, QUESTION)
    public = f"{clients.TWILIO_PUBLIC_URL}{TWILIO_PATH}"
    content_type = {"Content-Type": "application/x-www-form-urlencoded"}
    for headers in [
        content_type,
        clients.twilio_headers(public, form, token="not-the-token"),
        # Signed for the URL Rasa sees, not the public one Twilio calls.
        clients.twilio_headers(f"{assistant.rasa_url}{TWILIO_PATH}", form),
        # Signed for other form fields (a changed Body).
        clients.twilio_headers(public, {**form, "Body": "hello"}),
    ]:
        assert sms_post(assistant, form, headers).status == 403
    settle(assistant)
    assert_no_trace(conversation_log, fakes, SMS, phone, phone)


def test_sms_with_blank_fields_signed_by_twilios_library_is_answered(
    assistant: serve.Running, fakes: FakeProviders
) -> None:
    """UK numbers come with FromCity=, ToZip= ...: Twilio signs them too, so must the check."""
    phone = phone_number()
    form = clients.sms_form(phone, QUESTION)
    assert form["FromCity"] == form["ToZip"] == ""
    public = f"{clients.TWILIO_PUBLIC_URL}{TWILIO_PATH}"
    assert sms_post(assistant, form, clients.twilio_headers(public, form)).status == 200
    [reply] = sms_sent(fakes, phone)
    assert reply.form["Body"].startswith(f"{NOTICE}\n\nWhat assistant practitioners do:")


def test_a_rest_client_cannot_write_into_an_sms_conversation(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    """Each channel has its own conversation ids: posting a phone number as the REST sender
    starts a REST conversation, and the SMS conversation of that number is untouched."""
    phone = phone_number()
    public = f"{clients.TWILIO_PUBLIC_URL}{TWILIO_PATH}"
    form = clients.sms_form(phone, QUESTION)
    assert sms_post(assistant, form, clients.twilio_headers(public, form)).status == 200
    sms_sent(fakes, phone)
    sms_conversation = conversation_id(SMS, phone)
    assert len(conversation_log.user_messages(sms_conversation, at_least=1)) == 1

    replies = http.Conversation(assistant.rasa_url, phone).say("hello")
    assert replies and {reply["recipient_id"] for reply in replies} == {phone}
    rest_messages = conversation_log.user_messages(conversation_id(REST, phone), at_least=1)
    assert [m["text"] for m in rest_messages] == ["hello"]
    assert [m["text"] for m in conversation_log.user_messages(sms_conversation)] == [QUESTION]
    assert conversation_log.events(phone) == []


# --- replays ---------------------------------------------------------------------------
def test_an_sms_sent_again_is_acknowledged_and_not_answered_twice(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    phone = phone_number()
    public = f"{clients.TWILIO_PUBLIC_URL}{TWILIO_PATH}"
    form = clients.sms_form(phone, QUESTION)
    headers = clients.twilio_headers(public, form)
    assert sms_post(assistant, form, headers).status == 200
    sent = sms_sent(fakes, phone)
    conversation_log.user_messages(conversation_id(SMS, phone), at_least=1)
    answer = sms_post(assistant, form, headers)  # the same MessageSid, validly signed
    assert answer.status == 200
    assert answer.body == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    settle(assistant)
    assert (
        fakes.matching(lambda c: c.path.startswith("/twilio/") and c.form.get("To") == phone)
        == sent
    )
    assert len(conversation_log.user_messages(conversation_id(SMS, phone))) == 1


def test_a_telegram_update_sent_again_is_acknowledged_and_not_answered_twice(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    chat_id = int(time.time() * 1000) % 10**9 + 2
    body = clients.telegram_message(chat_id, QUESTION)
    assert telegram_post(assistant, body, clients.telegram_headers()).status == 200
    sent = telegram_sent(fakes, chat_id)
    conversation_log.user_messages(conversation_id(TELEGRAM, str(chat_id)), at_least=1)
    answer = telegram_post(assistant, body, clients.telegram_headers())
    assert (answer.status, answer.body) == (200, "success")
    settle(assistant)
    assert (
        fakes.matching(
            lambda c: (
                c.path == f"{TELEGRAM_API}/sendMessage"
                and (c.json or {}).get("chat_id") == str(chat_id)
            )
        )
        == sent
    )
    assert len(conversation_log.user_messages(conversation_id(TELEGRAM, str(chat_id)))) == 1


def test_a_slack_event_sent_again_is_acknowledged_and_not_answered_twice(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    user, channel = unique("U-replay"), unique("D-replay")
    body = clients.slack_message(user, channel, QUESTION)
    assert slack_post(assistant, body, {**SLACK_JSON, **clients.slack_headers(body)}).status == 200
    sent = slack_replies(fakes, channel)
    conversation_log.user_messages(conversation_id(SLACK, user), at_least=1)
    # Sent again within the 5 minutes the timestamp allows, validly signed: only the event_id
    # shows it is the same event.
    answer = slack_post(assistant, body, {**SLACK_JSON, **clients.slack_headers(body)})
    assert answer.status == 200
    settle(assistant)
    assert fakes.matching(to_slack_channel(channel)) == sent
    assert len(conversation_log.user_messages(conversation_id(SLACK, user))) == 1


# --- Bot Framework (Teams) -------------------------------------------------------------
def teams_post(assistant: serve.Running, activity: dict[str, Any], token: str | None) -> http.Reply:
    return http.post(
        f"{assistant.rasa_url}/webhooks/botframework/webhook",
        json.dumps(activity).encode(),
        clients.bearer(token),
    )


def teams_sent(fakes: FakeProviders, conversation: str, count: int = 1) -> list[Call]:
    path = f"/botframework/service/v3/conversations/{conversation}/activities"  # decoded
    return fakes.wait_for(lambda c: c.path == path, count)


def test_teams_answers_with_a_hero_card_and_takes_clicks(
    assistant: serve.Running,
    fakes: FakeProviders,
    conversation_log: ConversationLog,
    duties_answer: Reference,
) -> None:
    user, conversation = unique("29:user"), unique("a:conversation")
    service = fakes.api("/botframework/service/")
    activity = clients.teams_activity(user, conversation, QUESTION, service)
    token = bot_connector_token(fakes.signing_key, serviceurl=service)
    assert teams_post(assistant, activity, token).status == 200

    [reply] = teams_sent(fakes, conversation)
    assert reply.headers["Authorization"] == "Bearer fake-connector-token"
    assert reply.json == {
        "type": "message",
        "text": f"{NOTICE}\n\n{duties_answer.text}\n\n"
        f"Source: [{SOURCE_TITLE}]({duties_answer.sources[0].url})",
        "attachments": [clients.TEAMS_FEEDBACK_CARD],
        "from": {"id": "28:app-id", "name": "NHS careers"},
        "recipient": {"id": user},
        "conversation": activity["conversation"],
        "replyToId": activity["id"],
    }
    [token_request] = fakes.wait_for(lambda c: c.path == "/botframework/token")
    assert token_request.form == {
        "grant_type": "client_credentials",
        "client_id": clients.BOTFRAMEWORK_APP_ID,
        "client_secret": "app-password",
        "scope": "https://api.botframework.com/.default",
    }

    click = {**clients.teams_activity(user, conversation, "/feedback_helpful", service)}
    assert teams_post(assistant, click, token).status == 200
    _, thanks = teams_sent(fakes, conversation, count=2)
    assert thanks.json["text"] == THANKS["helpful"]
    assert "attachments" not in thanks.json

    assert_logged(
        conversation_log, conversation_id(TEAMS, user), "botframework", "/feedback_helpful"
    )


def test_teams_refuses_activities_without_a_valid_connector_token(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    user, conversation = unique("29:forged"), unique("a:forged")
    service = fakes.api("/botframework/service/")
    activity = clients.teams_activity(user, conversation, QUESTION, service)
    key = fakes.signing_key
    now = int(time.time())
    tokens: list[str | None] = [
        None,
        "not-a-jwt",
        bot_connector_token(rsa_key(), serviceurl=service),  # signed with another key
        bot_connector_token(key, serviceurl=service, aud="someone-elses-app"),
        bot_connector_token(key, serviceurl=service, iss="https://evil.example"),
        bot_connector_token(key, serviceurl=service, exp=now - 3600, nbf=now - 7200),
        bot_connector_token(key, serviceurl=service, exp=None),
        bot_connector_token(key, serviceurl="http://127.0.0.1:9/elsewhere/"),
        bot_connector_token(key),  # no serviceurl claim
    ]
    for token in tokens:
        assert teams_post(assistant, activity, token).status == 403, token
    # A genuine token for another channel the key is not endorsed for.
    other = {**activity, "channelId": "skype"}
    assert teams_post(assistant, other, bot_connector_token(key, serviceurl=service)).status == 403
    settle(assistant)
    assert_no_trace(conversation_log, fakes, TEAMS, user, conversation)


# --- all channels ----------------------------------------------------------------------
def test_no_provider_call_failed_or_left_the_fakes(
    assistant: serve.Running, fakes: FakeProviders
) -> None:
    """Every call the fakes saw was to a faked API, and no call failed in Rasa or the action
    server: a call that went anywhere else fails here (there is no network), and is logged.
    (Each channel's test also finds exactly its replies at the fake.)"""
    prefixes = ("/slack/", "/telegram/", "/graph/", "/twilio/", "/botframework/")
    assert fakes.calls, "the assistant called no provider (Telegram's webhook at start-up)"
    assert fakes.matching(lambda c: not c.path.startswith(prefixes)) == []
    for name in ("rasa", "actions"):
        log = assistant.logs[name].read_text(errors="replace")
        assert " failed: " not in log, name
        assert "Traceback" not in log, name
