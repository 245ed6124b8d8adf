"""An apology instead of silence when a custom action cannot run.

Rasa 3.6 logs a failed custom action (action server down, timing out, or answering 500) and
carries on with no reply, so the user sees nothing. This wraps RemoteAction.run so the user
is told, and the failure is still logged. Installed once, when Rasa imports our channels.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.core.events import Event

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, I can't answer that right now because part of the service is unavailable. "
    "Please try again in a few minutes."
)
_ORIGINAL_RUN = RemoteAction.run


async def _run_or_apologise(self: RemoteAction, *args: Any, **kwargs: Any) -> list[Event]:
    try:
        return await _ORIGINAL_RUN(self, *args, **kwargs)
    except ActionExecutionRejection:
        raise
    except Exception:
        logger.exception("custom action '%s' failed; the user was sent an apology", self.name())
        return [create_bot_utterance({"text": APOLOGY})]


def install() -> None:
    RemoteAction.run = _run_or_apologise
