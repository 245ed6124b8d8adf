"""Sender ids (for SMS, the phone number) are never stored: a keyed hash stands in for them.

`pseudonym(sender_id)` is HMAC-SHA256 with SENDER_ID_KEY (bot.settings), shortened to 128
bits. The conversation log, its index, the console, the event broker and the lock store's
Redis keys only ever see the pseudonym; the raw id lives in memory, for the reply. The same
sender gets the same pseudonym as long as the key is kept, so a returning user finds their
conversation; without the key a pseudonym cannot be traced back to a phone number (a plain
hash of a phone number could be, by trying them all).
"""

from __future__ import annotations

import hashlib
import hmac

from bot.settings import get_settings

# Hex digits kept: 128 bits, so distinct senders never share a conversation.
LENGTH = 32


def pseudonym(sender_id: str, key: str | None = None) -> str:
    """The keyed hash that stands in for `sender_id` wherever it would be stored."""
    secret = key if key is not None else get_settings().sender_id_secret()
    digest = hmac.new(secret.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return digest[:LENGTH]
