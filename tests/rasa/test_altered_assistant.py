"""An assistant started differently from the session's, for the two tests that need one.

Starting an assistant means loading the model (half a minute), so one serves both, in this
order: first Rasa with python-socketio 5.10's coroutine `enter_room` (installed by a
sitecustomize), then the same Rasa with its action server stopped. pytest runs a module's tests
in the order they are written; each test also passes alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import serve
from bot.channels.replies import APOLOGY
from bot.settings import PROJECT_ROOT
from tests.support.http import Conversation
from tests.support.servers import ARTIFACTS, free_port
from tests.support.sockets import Client

# Imported by Python at start-up (sitecustomize) in the processes of the server below: it makes
# enter_room a coroutine, as python-socketio 5.10+ has it, before Rasa imports socketio.
COROUTINE_ENTER_ROOM = """
import inspect
import os
import pathlib
import socketio

_synchronous = socketio.AsyncServer.enter_room
if not inspect.iscoroutinefunction(_synchronous):
    async def _enter_room(self, sid, room, namespace=None):
        _synchronous(self, sid, room, namespace=namespace)

    socketio.AsyncServer.enter_room = _enter_room
    pathlib.Path(__file__).with_name(f"patched-{os.getpid()}").touch()
"""


@pytest.fixture(scope="module")
def altered(
    model: Path, role_store_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[serve.Running]:
    """The real assistant, started as `make run` starts it, with a 5.10-style enter_room."""
    shim = tmp_path_factory.mktemp("coroutine-enter-room")
    (shim / "sitecustomize.py").write_text(COROUTINE_ENTER_ROOM)
    ports = serve.Ports(rasa=free_port(), actions=free_port())
    extra_env = {
        "PYTHONPATH": f"{shim}:{PROJECT_ROOT}",
        "TRACKER_STORE_URL": f"sqlite:///{shim / 'conversations.db'}",
        "ROLE_STORE_URL": role_store_url,
    }
    with serve.assistant(
        ports, model=model, log_dir=ARTIFACTS / "logs", extra_env=extra_env
    ) as running:
        rasa = running.processes["rasa"].pid
        assert (shim / f"patched-{rasa}").exists(), "the Rasa server was not patched"
        yield running


async def test_replies_arrive_when_the_server_has_a_coroutine_enter_room(
    altered: serve.Running,
) -> None:
    """Fails without the fix in bot/channels/socketio.py: the reply never comes (a timeout)."""
    client = Client()
    await client.start(altered.rasa_url)
    try:
        texts = await client.ask(
            "what does an assistant practitioner do?", "What assistant practitioners do:"
        )
    finally:
        await client.stop()
    assert any(t.startswith("What assistant practitioners do:") for t in texts)


def test_the_action_server_gone_gets_an_apology(altered: serve.Running) -> None:
    """A Rasa server whose action server has gone apologises instead of going silent."""
    serve.stop(altered.processes["actions"])
    reply = Conversation(altered.rasa_url, "down").text("what does an assistant practitioner do?")
    assert reply == APOLOGY
