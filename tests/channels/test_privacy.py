"""A person's privacy on the messaging channels, end to end against the real assistant: the
first reply of a new conversation starts with the privacy notice (and only the first), and
"delete my conversation" (or an everyday wording of it) erases their log once they confirm.

Every messaging channel is driven as tests/channels/test_end_to_end.py drives it (signed
requests in, replies read at the fake provider APIs): SMS, Telegram, Messenger, Slack, Teams."""

from __future__ import annotations

import html
import json
import time
import urllib.parse
import uuid
from typing import Any

from actions.privacy import ASK, DELETED, KEPT
from bot import serve
from bot.channels.conversations import MESSENGER, SLACK, SMS, TEAMS, TELEGRAM, conversation_id
from bot.channels.slack import escape
from tests.support import http
from tests.support import providers as clients
from tests.support.fakes import Call, FakeProviders, bot_connector_token
from tests.support.logs import ConversationLog
from tests.support.providers import NOTICE
from tests.support.servers import wait_for

TWILIO_PATH = "/webhooks/twilio/webhook"
TELEGRAM_API = "/telegram/bot123456:TEST-telegram-token"
QUESTION = "what does an assistant practitioner do?"


def text_sms(assistant: serve.Running, phone: str, text: str) -> None:
    public = f"{clients.TWILIO_PUBLIC_URL}{TWILIO_PATH}"
    form = clients.sms_form(phone, text)
    body = urllib.parse.urlencode(form).encode()
    reply = http.post(
        f"{assistant.rasa_url}{TWILIO_PATH}", body, clients.twilio_headers(public, form)
    )
    assert reply.status == 200


def sms_bodies(fakes: FakeProviders, phone: str, count: int) -> list[str]:
    calls = fakes.wait_for(
        lambda c: c.path.startswith("/twilio/") and c.form.get("To") == phone, count
    )
    return [call.form["Body"] for call in calls]


def erased(log: ConversationLog, conversation: str) -> None:
    wait_for(lambda: log.events(conversation) == [], 15, f"{conversation} erased")


def test_sms_delete_my_conversation_asks_then_erases(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    phone = f"+4477009{uuid.uuid4().int % 10**5:05d}"
    conversation = conversation_id(SMS, phone)
    text_sms(assistant, phone, QUESTION)
    [first] = sms_bodies(fakes, phone, 1)
    assert first.startswith(f"{NOTICE}\n\nWhat assistant practitioners do:")
    conversation_log.saved_events(conversation)

    text_sms(assistant, phone, "delete my conversation")
    question = sms_bodies(fakes, phone, 2)[1]
    assert question == f"{ASK}\n\nReply with a number:\n1. Yes, delete it\n2. No, keep it"
    assert NOTICE not in question  # the notice is for the first reply only
    conversation_log.saved_events(conversation, user_messages=2)

    text_sms(assistant, phone, "1")  # the number of "Yes, delete it"
    assert sms_bodies(fakes, phone, 3)[2] == DELETED
    erased(conversation_log, conversation)
    assert conversation_log.channel(conversation) is None  # the index row went too

    text_sms(assistant, phone, "hello")  # writing again starts afresh: the notice again
    assert sms_bodies(fakes, phone, 4)[3].startswith(f"{NOTICE}\n\n")
    messages = conversation_log.user_messages(conversation, at_least=1)
    assert [m["text"] for m in messages] == ["hello"]


def telegram_post(assistant: serve.Running, body: bytes) -> None:
    url = f"{assistant.rasa_url}/webhooks/telegram/webhook"
    assert http.post(url, body, clients.telegram_headers()).status == 200


def telegram_texts(fakes: FakeProviders, chat_id: int, count: int) -> list[str]:
    calls: list[Call] = fakes.wait_for(
        lambda c: (
            c.path == f"{TELEGRAM_API}/sendMessage"
            and (c.json or {}).get("chat_id") == str(chat_id)
        ),
        count,
    )
    return [html.unescape(call.json["text"]) for call in calls]


def test_telegram_forget_me_then_no_keeps_it_and_a_typed_yes_erases_it(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    chat_id = int(time.time() * 1000) % 10**9 + 7
    conversation = conversation_id(TELEGRAM, str(chat_id))
    telegram_post(assistant, clients.telegram_message(chat_id, "forget me"))
    [asked] = telegram_texts(fakes, chat_id, 1)
    assert asked == f"{NOTICE}\n\n{ASK}"  # a first message gets the notice, whatever it is
    [button_call] = fakes.matching(
        lambda c: (
            c.path == f"{TELEGRAM_API}/sendMessage"
            and (c.json or {}).get("chat_id") == str(chat_id)
        )
    )
    keyboard = button_call.json["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [{"text": "Yes, delete it", "callback_data": "/affirm"}],
        [{"text": "No, keep it", "callback_data": "/deny"}],
    ]
    conversation_log.saved_events(conversation)

    telegram_post(assistant, clients.telegram_click(chat_id, "/deny"))
    assert telegram_texts(fakes, chat_id, 2)[1] == KEPT
    conversation_log.saved_events(conversation, user_messages=2)
    assert conversation_log.events(conversation) != []

    telegram_post(assistant, clients.telegram_message(chat_id, "please erase my data"))
    assert telegram_texts(fakes, chat_id, 3)[2] == ASK
    conversation_log.saved_events(conversation, user_messages=3)
    telegram_post(assistant, clients.telegram_message(chat_id, "yes"))
    assert telegram_texts(fakes, chat_id, 4)[3] == DELETED
    erased(conversation_log, conversation)


# --- Facebook Messenger ----------------------------------------------------------------
def messenger_post(assistant: serve.Running, psid: str, message: dict[str, Any]) -> None:
    body = clients.messenger_event(psid, message)
    url = f"{assistant.rasa_url}/webhooks/facebook/webhook"
    assert http.post(url, body, clients.messenger_headers(body)).status == 200


def messenger_messages(fakes: FakeProviders, psid: str, count: int) -> list[dict[str, Any]]:
    calls = fakes.wait_for(
        lambda c: (
            c.path == "/graph/v21.0/me/messages"
            and (c.json or {}).get("recipient", {}).get("id") == psid
        ),
        count,
    )
    return [call.json["message"] for call in calls]


def test_messenger_delete_my_conversation_then_the_yes_quick_reply_erases_it(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    psid = f"psid-privacy-{uuid.uuid4().hex[:8]}"
    conversation = conversation_id(MESSENGER, psid)
    messenger_post(assistant, psid, {"text": "delete my conversation"})
    [asked] = messenger_messages(fakes, psid, 1)
    assert asked == {
        "text": f"{NOTICE}\n\n{ASK}",
        "quick_replies": [
            {"content_type": "text", "title": "Yes, delete it", "payload": "/affirm"},
            {"content_type": "text", "title": "No, keep it", "payload": "/deny"},
        ],
    }
    conversation_log.saved_events(conversation)
    assert conversation_log.channel(conversation) == "facebook"

    # The quick reply, as Meta sends a tap on it: its title as text, the payload beside it.
    messenger_post(
        assistant, psid, {"text": "Yes, delete it", "quick_reply": {"payload": "/affirm"}}
    )
    assert messenger_messages(fakes, psid, 2)[1] == {"text": DELETED}
    erased(conversation_log, conversation)
    assert conversation_log.channel(conversation) is None  # the index row went too

    messenger_post(assistant, psid, {"text": "hello"})  # afresh: the notice again
    assert messenger_messages(fakes, psid, 3)[2]["text"].startswith(f"{NOTICE}\n\n")
    messages = conversation_log.user_messages(conversation, at_least=1)
    assert [m["text"] for m in messages] == ["hello"]


# --- Slack -----------------------------------------------------------------------------
def slack_post(assistant: serve.Running, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type, **clients.slack_headers(body)}
    reply = http.post(f"{assistant.rasa_url}/webhooks/slack/webhook", body, headers)
    assert reply.status == 200


def slack_say(assistant: serve.Running, user: str, channel: str, text: str) -> None:
    slack_post(assistant, clients.slack_message(user, channel, text), "application/json")


def slack_click(assistant: serve.Running, user: str, channel: str, value: str) -> None:
    body = clients.slack_click(user, channel, value)
    slack_post(assistant, body, "application/x-www-form-urlencoded")


def slack_messages(fakes: FakeProviders, channel: str, count: int) -> list[dict[str, Any]]:
    calls = fakes.wait_for(
        lambda c: (
            c.path == "/slack/api/chat.postMessage" and (c.json or {}).get("channel") == channel
        ),
        count,
    )
    return [call.json for call in calls]


def slack_text(text: str) -> dict[str, Any]:
    """A chat.postMessage body of plain text, as the Slack channel renders it."""
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def test_slack_no_button_keeps_it_and_a_typed_yes_erases_it(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    user, channel = f"U-privacy-{uuid.uuid4().hex[:8]}", f"D-privacy-{uuid.uuid4().hex[:8]}"
    conversation = conversation_id(SLACK, user)
    slack_say(assistant, user, channel, "delete my conversation")
    [asked] = slack_messages(fakes, channel, 1)
    text = f"{escape(NOTICE)}\n\n{ASK}"
    assert asked == {
        "channel": channel,
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Yes, delete it"},
                        "value": "/affirm",
                        "action_id": "option-1",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "No, keep it"},
                        "value": "/deny",
                        "action_id": "option-2",
                    },
                ],
            },
        ],
    }
    conversation_log.saved_events(conversation)

    slack_click(assistant, user, channel, "/deny")
    assert slack_messages(fakes, channel, 2)[1] == {"channel": channel, **slack_text(KEPT)}
    conversation_log.saved_events(conversation, user_messages=2)
    messages = conversation_log.user_messages(conversation, at_least=2)
    assert [m["text"] for m in messages] == ["delete my conversation", "/deny"]
    assert conversation_log.channel(conversation) == "slack"

    slack_say(assistant, user, channel, "please erase my data")
    assert slack_messages(fakes, channel, 3)[2]["text"] == ASK
    conversation_log.saved_events(conversation, user_messages=3)
    slack_say(assistant, user, channel, "yes")
    assert slack_messages(fakes, channel, 4)[3] == {"channel": channel, **slack_text(DELETED)}
    erased(conversation_log, conversation)
    assert conversation_log.channel(conversation) is None


# --- Microsoft Teams (Bot Framework) ---------------------------------------------------
def teams_say(
    assistant: serve.Running, fakes: FakeProviders, user: str, conversation: str, text: str
) -> None:
    """A message activity from `user`, with a genuine Bot Connector token; a messageBack
    button's click arrives the same way, its `text` (the payload) as the message."""
    service = fakes.api("/botframework/service/")
    activity = clients.teams_activity(user, conversation, text, service)
    token = bot_connector_token(fakes.signing_key, serviceurl=service)
    reply = http.post(
        f"{assistant.rasa_url}/webhooks/botframework/webhook",
        json.dumps(activity).encode(),
        clients.bearer(token),
    )
    assert reply.status == 200


def teams_replies(fakes: FakeProviders, conversation: str, count: int) -> list[dict[str, Any]]:
    path = f"/botframework/service/v3/conversations/{conversation}/activities"  # decoded
    return [call.json for call in fakes.wait_for(lambda c: c.path == path, count)]


def test_teams_a_typed_no_keeps_it_and_the_yes_button_erases_it(
    assistant: serve.Running, fakes: FakeProviders, conversation_log: ConversationLog
) -> None:
    user = f"29:privacy-{uuid.uuid4().hex[:8]}"
    teams_conversation = f"a:privacy-{uuid.uuid4().hex[:8]}"
    conversation = conversation_id(TEAMS, user)
    teams_say(assistant, fakes, user, teams_conversation, "forget me")
    [asked] = teams_replies(fakes, teams_conversation, 1)
    assert asked["text"] == f"{NOTICE}\n\n{ASK}"
    assert asked["attachments"] == [
        {
            "contentType": "application/vnd.microsoft.card.hero",
            "content": {
                "buttons": [
                    {
                        "type": "messageBack",
                        "title": "Yes, delete it",
                        "text": "/affirm",
                        "displayText": "Yes, delete it",
                    },
                    {
                        "type": "messageBack",
                        "title": "No, keep it",
                        "text": "/deny",
                        "displayText": "No, keep it",
                    },
                ]
            },
        }
    ]
    assert asked["recipient"] == {"id": user}
    conversation_log.saved_events(conversation)

    teams_say(assistant, fakes, user, teams_conversation, "no")
    kept = teams_replies(fakes, teams_conversation, 2)[1]
    assert (kept["text"], "attachments" in kept) == (KEPT, False)
    conversation_log.saved_events(conversation, user_messages=2)
    assert conversation_log.events(conversation) != []
    assert conversation_log.channel(conversation) == "botframework"

    teams_say(assistant, fakes, user, teams_conversation, "delete my conversation")
    assert teams_replies(fakes, teams_conversation, 3)[2]["text"] == ASK
    conversation_log.saved_events(conversation, user_messages=3)
    teams_say(assistant, fakes, user, teams_conversation, "/affirm")  # the Yes button
    assert teams_replies(fakes, teams_conversation, 4)[3]["text"] == DELETED
    erased(conversation_log, conversation)
    assert conversation_log.channel(conversation) is None


def test_a_yes_without_the_question_deletes_nothing(
    assistant: serve.Running, conversation_log: ConversationLog
) -> None:
    """Only a yes to "are you sure?" erases: a stray yes (or a stale button) is just a yes."""
    sender = f"rest-privacy-{uuid.uuid4().hex[:8]}"
    chat = http.Conversation(assistant.rasa_url, sender)
    chat.say(QUESTION)
    replies = chat.say("/affirm")
    assert DELETED not in json.dumps(replies)
    conversation_log.saved_events(f"rest:{sender}", user_messages=2)
    assert conversation_log.user_messages(f"rest:{sender}", at_least=2)


async def test_the_notice_starts_the_first_reply_only() -> None:
    from bot.channels.replies import privacy_notice
    from bot.channels.twilio import TwilioOutput

    sent: list[str] = []

    class Recording(TwilioOutput):
        async def post(self, recipient_id: str, message: str) -> None:
            sent.append(message)

    asked: list[bool] = []

    async def notice() -> str | None:
        asked.append(True)
        return privacy_notice(1, "https://careers.example.org/privacy")

    output = Recording(settings=None)  # type: ignore[arg-type]
    output.notice = notice
    await output.send_text_message("sms:+447700900123", "First answer.")
    await output.send_text_with_buttons(
        "sms:+447700900123", "Second.", [{"title": "A", "payload": "/a"}]
    )
    assert sent[0] == (
        "I'm an automated assistant. Conversations are kept for 1 day and read by the careers "
        'team to improve me; write "delete my conversation" to erase yours. Privacy notice: '
        "https://careers.example.org/privacy\n\nFirst answer."
    )
    assert sent[1] == "Second.\n\nReply with a number:\n1. A"
    assert asked == [True]  # asked once, when the first reply went
