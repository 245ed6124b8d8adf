"""An apology instead of silence when a custom action, or a whole message, cannot be handled.

Rasa 3.6 logs a failed custom action (action server down, timing out, or answering 500) and
carries on with no reply, so the user sees nothing. This wraps RemoteAction.run so the user
is told, and the failure is still logged. Installed once, when Rasa imports our channels.

The conversation log gets the opposite treatment. Stock Rasa wraps the tracker store in a
FailSafeTrackerStore that, when the database is down, carries on with an empty conversation
and keeps what follows in memory only: the user gets answers without context, the turns are
lost, and a save that then succeeds can store the wrong slice of events. Here a tracker store
failure is raised instead, and nothing is stored out of order.

A message that cannot be handled at all (that failure, or the lock store down) is logged by
stock Rasa and the user hears nothing, on any channel. Here the user is sent the apology on
the channel the message came from, and the failure still reaches the channel (the REST channel
then answers 503).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, I can't answer that right now because part of the service is unavailable. "
    "Please try again in a few minutes."
)
_ORIGINAL_RUN = RemoteAction.run
_ORIGINAL_HANDLE = Agent.handle_message


async def _run_or_apologise(self: RemoteAction, *args: Any, **kwargs: Any) -> list[Event]:
    try:
        return await _ORIGINAL_RUN(self, *args, **kwargs)
    except ActionExecutionRejection:
        raise
    except Exception:
        logger.exception("custom action '%s' failed; the user was sent an apology", self.name())
        return [create_bot_utterance({"text": APOLOGY})]


async def _handle_or_apologise(self: Agent, message: UserMessage) -> Any:
    try:
        return await _ORIGINAL_HANDLE(self, message)
    except Exception:
        logger.exception("handling a message failed; the user is sent an apology")
        if message.output_channel is not None:
            try:
                await message.output_channel.send_text_message(message.sender_id, APOLOGY)
            except Exception:
                logger.exception("the apology could not be sent either")
        raise


class TrackerStoreUnavailable(RuntimeError):
    """The conversation log could not be read or written: the message was not handled."""


def _raise_unavailable(error: Exception) -> None:
    raise TrackerStoreUnavailable(f"the tracker store failed: {error!r}") from error


def _tracker_store_that_raises(store: TrackerStore | None, domain: Domain) -> TrackerStore:
    """Agent._create_tracker_store, but failures reach the caller instead of a memory store."""
    if store is None:
        store = InMemoryTrackerStore(domain)
    else:
        store.domain = domain
    return FailSafeTrackerStore(store, on_tracker_store_error=_raise_unavailable)


def install() -> None:
    RemoteAction.run = _run_or_apologise
    Agent.handle_message = _handle_or_apologise
    Agent._create_tracker_store = staticmethod(_tracker_store_that_raises)
