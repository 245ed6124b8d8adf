"""Conversation ids: each channel has a namespace of its own.

A sender id is only what a channel was told, not proof of who someone is: a REST client may
post any `sender`, a phone number included. So the assistant never uses a platform's id as the
conversation id: it is `<namespace>:<the platform's id>` ("sms:+447700900123",
"rest:+447700900123"), and a client of one channel cannot write into, or read the context of, a
conversation of another. Output channels address the platform's own id (`platform_id`).
"""

from __future__ import annotations

REST = "rest"
WEB = "web"
SMS = "sms"
SLACK = "slack"
TELEGRAM = "telegram"
MESSENGER = "messenger"
TEAMS = "teams"
NAMESPACES = (REST, WEB, SMS, SLACK, TELEGRAM, MESSENGER, TEAMS)


def conversation_id(namespace: str, platform_id: str) -> str:
    """The conversation id of `platform_id` (a phone number, a chat id) on one channel."""
    if namespace not in NAMESPACES:
        raise ValueError(f"unknown conversation namespace {namespace!r}")
    return f"{namespace}:{platform_id}"


def platform_id(namespace: str, conversation: str) -> str:
    """The platform's own id in a conversation id of `namespace` (as given without one)."""
    prefix = f"{namespace}:"
    return conversation[len(prefix) :] if conversation.startswith(prefix) else conversation
