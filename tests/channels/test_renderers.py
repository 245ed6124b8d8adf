"""How one reply is rendered for each platform: exact messages, limits and long answers."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.channels import botframework, facebook, shell, slack, telegram, twilio
from bot.channels.replies import Source, sources_from
from bot.channels.rest import RestOutput
from bot.channels.socketio import WebOutput
from tests.support.providers import SLACK_FEEDBACK_BUTTONS, TEAMS_FEEDBACK_CARD

ANSWER = (
    "What assistant practitioners do:\n"
    "- They work with radiographers & patients.\n"
    "\n"
    "Source: NHS Careers\n"
    "http://www.nhscareers.nhs.uk/explore-by-career/"
)
OPTIONS = [
    {"title": "Helpful", "payload": "/feedback_helpful"},
    {"title": "Not helpful", "payload": "/feedback_not_helpful"},
]


def long_answer(paragraphs: int, size: int) -> str:
    """Paragraphs of `size` characters (a multiple of 10): numbered, then 9-letter words."""
    assert size % 10 == 0
    words = " abcdefghi" * (size // 10 - 1)
    return "\n\n".join(f"{n:09d}{words}." for n in range(paragraphs))


# --- Slack -----------------------------------------------------------------------------
def test_slack_sections_and_buttons() -> None:
    text = ANSWER.replace("&", "&amp;")
    assert slack.render(ANSWER, OPTIONS) == [
        {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                SLACK_FEEDBACK_BUTTONS,
            ],
        }
    ]


def test_slack_escapes_markup_characters() -> None:
    assert slack.escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


def test_slack_long_answer_is_several_sections_of_one_message() -> None:
    text = long_answer(5, 1400)  # 7008 characters
    [message] = slack.render(text)
    sections = [block["text"]["text"] for block in message["blocks"]]
    assert [len(s) for s in sections] == [2802, 2802, 1400]
    assert "\n\n".join(sections) == text == message["text"]


def test_slack_very_long_answer_is_several_messages_with_buttons_on_the_last() -> None:
    text = long_answer(30, 2000)
    messages = slack.render(text, OPTIONS)
    assert len(messages) == 2
    assert all(len(m["text"]) <= 40000 for m in messages)
    assert all(len(b["text"]["text"]) <= 3000 for m in messages for b in m["blocks"][:-1])
    assert [b["type"] for b in messages[0]["blocks"]] == ["section"] * 19
    assert messages[1]["blocks"][-1]["type"] == "actions"
    assert "\n\n".join(m["text"] for m in messages) == text


# --- Telegram --------------------------------------------------------------------------
def test_telegram_inline_keyboard() -> None:
    assert telegram.render(ANSWER, OPTIONS) == [
        {
            "text": ANSWER.replace("&", "&amp;"),  # Telegram's HTML
            "parse_mode": "HTML",
            "reply_markup": {
                "inline_keyboard": [
                    [{"text": "Helpful", "callback_data": "/feedback_helpful"}],
                    [{"text": "Not helpful", "callback_data": "/feedback_not_helpful"}],
                ]
            },
        }
    ]


def test_telegram_payload_over_64_bytes_becomes_its_number() -> None:
    long_payload = '/compare_roles{"role": ["radiography-assistant", "assistant-practitioner"]}'
    buttons = [OPTIONS[0], {"title": "Compare", "payload": long_payload}]
    keyboard = telegram.render("Which?", buttons)[0]["reply_markup"]["inline_keyboard"]
    assert keyboard == [
        [{"text": "Helpful", "callback_data": "/feedback_helpful"}],
        [{"text": "Compare", "callback_data": "#2"}],
    ]


def test_telegram_long_answer_is_split_at_4096() -> None:
    text = long_answer(3, 3000)
    messages = telegram.render(text, OPTIONS)
    assert [len(m["text"]) for m in messages] == [3000, 3000, 3000]
    assert "reply_markup" not in messages[0]
    assert "reply_markup" in messages[-1]


def test_telegram_start_command_is_a_greeting() -> None:
    def update(text: str) -> dict[str, Any]:
        return {"update_id": 1, "message": {"chat": {"id": 42}, "text": text}}

    assert telegram.incoming(update("/start")) == ("42", "Hello", None)
    assert telegram.incoming(update("/start@NHSCareersBot")) == ("42", "Hello", None)
    assert telegram.incoming(update("/starting")) == ("42", "/starting", None)


def test_telegram_ignores_updates_without_text() -> None:
    assert telegram.incoming({"update_id": 1, "edited_message": {"text": "x"}}) is None
    assert telegram.incoming({"update_id": 1, "message": {"chat": {"id": 1}}}) is None
    assert telegram.incoming([]) is None


# --- Messenger -------------------------------------------------------------------------
def test_messenger_quick_replies() -> None:
    assert facebook.render(ANSWER, OPTIONS) == [
        {
            "text": ANSWER,
            "quick_replies": [
                {"content_type": "text", "title": "Helpful", "payload": "/feedback_helpful"},
                {
                    "content_type": "text",
                    "title": "Not helpful",
                    "payload": "/feedback_not_helpful",
                },
            ],
        }
    ]


def test_messenger_quick_reply_titles_fit_20_characters() -> None:
    buttons = [{"title": "Radiography assistants", "payload": "/x"}]
    [message] = facebook.render("Which role?", buttons)
    assert message["quick_replies"][0]["title"] == "Radiography assista…"


def test_messenger_long_answer_is_split_at_2000() -> None:
    messages = facebook.render(long_answer(3, 1500), OPTIONS)
    assert [len(m["text"]) for m in messages] == [1500, 1500, 1500]
    assert [("quick_replies" in m) for m in messages] == [False, False, True]


def test_messenger_handles_every_event_of_a_batch() -> None:
    payload = {
        "object": "page",
        "entry": [
            {
                "messaging": [
                    {"sender": {"id": "1"}, "message": {"text": "hi"}},
                    {"sender": {"id": "1"}, "message": {"text": "echo", "is_echo": True}},
                    {"sender": {"id": "2"}, "postback": {"payload": "/greet"}},
                ]
            },
            {
                "messaging": [
                    {
                        "sender": {"id": "3"},
                        "message": {"text": "Helpful", "quick_reply": {"payload": "/feedback"}},
                    },
                    {"sender": {"id": "4"}, "delivery": {"mids": ["m"]}},
                ]
            },
        ],
    }
    assert list(facebook.incoming(payload)) == [("1", "hi"), ("2", "/greet"), ("3", "/feedback")]


# --- SMS -------------------------------------------------------------------------------
def test_sms_numbers_the_options() -> None:
    assert twilio.render(ANSWER, OPTIONS) == [
        f"{ANSWER}\n\nReply with a number:\n1. Helpful\n2. Not helpful"
    ]


def test_sms_long_answer_is_split_at_1600_with_the_options_last() -> None:
    text = long_answer(3, 1000)
    assert twilio.render(text, OPTIONS) == [
        text.split("\n\n")[0],
        text.split("\n\n")[1],
        text.split("\n\n")[2] + "\n\nReply with a number:\n1. Helpful\n2. Not helpful",
    ]


def test_sms_without_options_is_the_text() -> None:
    assert twilio.render("Thanks!") == ["Thanks!"]


# --- Teams -----------------------------------------------------------------------------
def test_teams_hero_card_with_message_back_buttons() -> None:
    assert botframework.render(ANSWER, OPTIONS) == [
        {
            "type": "message",
            "text": ANSWER,
            "attachments": [TEAMS_FEEDBACK_CARD],
        }
    ]


def test_teams_long_answer_is_split_at_4000() -> None:
    messages = botframework.render(long_answer(2, 3000))
    assert [len(m["text"]) for m in messages] == [3000, 3000]


def test_teams_mentions_of_the_bot_are_removed() -> None:
    activity = {
        "type": "message",
        "from": {"id": "29:u"},
        "conversation": {"id": "19:c"},
        "text": "<at>NHS careers</at> what do they do?",
    }
    assert botframework.incoming_text(activity) == ("29:u", "what do they do?")
    assert botframework.incoming_text({**activity, "type": "conversationUpdate"}) is None


def test_a_reply_with_options_and_no_text_still_has_text() -> None:
    assert twilio.render("", OPTIONS) == ["Reply with a number:\n1. Helpful\n2. Not helpful"]
    assert telegram.render(None, OPTIONS)[0]["text"] == "Please choose:"
    assert facebook.render("", OPTIONS)[0]["text"] == "Please choose:"
    assert slack.render("", OPTIONS)[0]["text"] == "Please choose:"
    assert botframework.render("", OPTIONS)[0]["text"] == "Please choose:"


# --- sources (issue 10, item 6) --------------------------------------------------------
TITLE = "NHS Careers: Radiography assistants & imaging support workers"
URL = "http://www.nhscareers.nhs.uk/explore-by-career/allied-health-professions/?a=1&b=2"
TEXT = "What assistant practitioners do:\n- They work with radiographers."
SOURCE = Source(TITLE, URL)
OTHER = Source("The Society of Radiographers", "https://www.sor.org/")


def test_slack_shows_the_page_title_as_a_link() -> None:
    [message] = slack.render(TEXT, OPTIONS, [SOURCE])
    link = (
        "<http://www.nhscareers.nhs.uk/explore-by-career/allied-health-professions/?a=1&amp;b=2"
        "|NHS Careers: Radiography assistants &amp; imaging support workers>"
    )
    assert message["text"] == f"{TEXT}\n\nSource: {link}"
    assert message["blocks"][0]["text"]["text"] == message["text"]
    assert message["blocks"][-1]["type"] == "actions"


def test_slack_link_cannot_be_broken_by_the_title_or_the_url() -> None:
    hostile = Source("a|b <!channel> >x", "https://example.org/p|q>r")
    assert slack.link(hostile) == "<https://example.org/p%7Cq&gt;r|a|b &lt;!channel&gt; &gt;x>"


def test_telegram_html_link_with_everything_escaped() -> None:
    text = "Tasks < 3 & more"
    hostile = Source('<b>"T"</b>', 'https://example.org/?q="x"&a=<b>')
    [message] = telegram.render(text, [], [SOURCE, hostile])
    assert message == {
        "text": (
            "Tasks &lt; 3 &amp; more\n\nSources:\n"
            '- <a href="http://www.nhscareers.nhs.uk/explore-by-career/allied-health-professions/'
            '?a=1&amp;b=2">NHS Careers: Radiography assistants &amp; imaging support workers</a>\n'
            '- <a href="https://example.org/?q=&quot;x&quot;&amp;a=&lt;b&gt;">'
            '&lt;b&gt;"T"&lt;/b&gt;</a>'
        ),
        "parse_mode": "HTML",
    }


def test_teams_markdown_link() -> None:
    [message] = botframework.render(TEXT, [], [SOURCE])
    assert message["text"] == f"{TEXT}\n\nSource: [{TITLE}]({URL})"
    hostile = Source("a](javascript:x) [b", "https://example.org/a_(b)")
    assert botframework.link(hostile) == (
        r"[a\]\(javascript:x\) \[b](https://example.org/a_%28b%29)"
    )


def test_messenger_sources_are_a_url_button_under_the_answer() -> None:
    messages = facebook.render(TEXT, OPTIONS, [SOURCE])
    assert messages[0] == {"text": TEXT}
    assert messages[1] == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": f"Source: {TITLE}",
                "buttons": [{"type": "web_url", "url": URL, "title": "Open the page"}],
            },
        },
        "quick_replies": facebook.render(TEXT, OPTIONS)[0]["quick_replies"],
    }


def test_messenger_several_sources_are_numbered_buttons() -> None:
    [_, card] = facebook.render(TEXT, [], [SOURCE, OTHER])
    payload = card["attachment"]["payload"]
    assert payload["text"] == f"Sources:\n1. {TITLE}\n2. {OTHER.title}"
    assert [b["title"] for b in payload["buttons"]] == ["Open source 1", "Open source 2"]
    assert all(len(b["title"]) <= 20 for b in payload["buttons"])


def test_sms_keeps_the_raw_url_before_the_options() -> None:
    assert twilio.render(TEXT, OPTIONS, [SOURCE]) == [
        f"{TEXT}\n\nSource: {TITLE}\n{URL}\n\nReply with a number:\n1. Helpful\n2. Not helpful"
    ]


def test_the_sources_never_split_from_a_long_answer_mid_link() -> None:
    text = long_answer(3, 1500)
    parts = twilio.render(text, [], [SOURCE])
    assert parts[-1].endswith(f"Source: {TITLE}\n{URL}")
    assert all(len(part) <= 1600 for part in parts)


def test_rest_json_carries_the_sources_and_no_url_in_the_text() -> None:
    async def collect() -> list[dict[str, Any]]:
        output = RestOutput("+447700900123")
        await output.send_text_message(
            "rest:+447700900123", f"{TEXT}\n\nMore.", sources=[SOURCE.as_dict()]
        )
        await output.send_text_with_buttons("rest:x", "Was this helpful?", OPTIONS, sources=[])
        return output.messages

    first, second, third = asyncio.run(collect())
    assert first == {"recipient_id": "+447700900123", "text": TEXT}
    assert second == {
        "recipient_id": "+447700900123",
        "text": "More.",
        "sources": [{"title": TITLE, "url": URL}],
    }
    assert third == {
        "recipient_id": "+447700900123",
        "text": "Was this helpful?",
        "buttons": OPTIONS,
    }


def test_socketio_output_puts_the_sources_on_the_last_message() -> None:
    emitted: list[tuple[str, Any, Any]] = []

    class Server:
        async def emit(self, event: str, data: Any, room: Any = None) -> None:
            emitted.append((event, data, room))

    async def send() -> None:
        output = WebOutput(Server(), "bot_uttered")
        await output.send_text_with_buttons(
            "web:1", f"{TEXT}\n\nMore.", OPTIONS, sources=[SOURCE.as_dict()]
        )

    asyncio.run(send())
    assert [data for _, data, _ in emitted] == [
        {"text": TEXT},
        {
            "text": "More.",
            "quick_replies": [{"content_type": "text", **option} for option in OPTIONS],
            "sources": [{"title": TITLE, "url": URL}],
        },
    ]
    assert {room for _, _, room in emitted} == {"web:1"}


def test_the_terminal_prints_the_title_then_the_raw_url() -> None:
    printed = shell.with_sources_as_text({"text": TEXT, "sources": [SOURCE.as_dict()]})
    assert printed["text"] == f"{TEXT}\n\nSource: {TITLE}\n{URL}"


def test_every_renderer_drops_a_source_that_is_not_http() -> None:
    sources = sources_from({"sources": [{"title": "x", "url": "javascript:alert(1)"}]})
    assert sources == []
    assert twilio.render(TEXT, [], sources) == [TEXT]
    assert telegram.render(TEXT, [], sources) == [{"text": TEXT, "parse_mode": "HTML"}]
