"""`make run`'s check that its ports are free, before it starts anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot import serve
from bot.settings import PROJECT_ROOT
from tests.support.servers import free_port


def ports_with(rasa: int) -> serve.Ports:
    return serve.Ports(rasa=rasa, actions=free_port(), web=free_port(), review=free_port())


def test_a_port_something_listens_on_is_taken() -> None:
    with socket.socket() as listening:
        listening.bind((serve.HOST, 0))
        listening.listen()
        port = listening.getsockname()[1]
        with pytest.raises(serve.PortTaken, match=f"port {port} \\(the Rasa server\\)"):
            serve.check_ports_free(ports_with(port))


def test_a_port_a_stopped_run_left_in_time_wait_is_free() -> None:
    """The server closed first (as Rasa does on SIGTERM): its port waits in TIME_WAIT, which
    the servers' own SO_REUSEADDR binds ignore, so `make run` straight after must start."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Sanic's listener
        server.bind((serve.HOST, 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection((serve.HOST, port))
        accepted, _ = server.accept()
        accepted.close()  # the server's side closes first: TIME_WAIT is on its port
        client.recv(1)
        client.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind((serve.HOST, port))  # what the check did before: refused
    serve.check_ports_free(ports_with(port))


def test_actions_are_called_without_the_domain(tmp_path: Path) -> None:
    """Rasa sends its whole domain with each action call unless the endpoint enables the
    selective domain; no action reads it, so the endpoints file each run uses does."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.utils import AvailableEndpoints
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    path = serve.write_endpoints(serve.Ports(rasa=1234, actions=4321), tmp_path)
    endpoint = AvailableEndpoints.read_endpoints(str(path)).action
    assert endpoint is not None and endpoint.url == "http://127.0.0.1:4321/webhook"
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    call = RemoteAction("action_answer_topic", endpoint)._action_call_format(
        DialogueStateTracker("visitor", domain.slots), domain
    )
    assert call["next_action"] == "action_answer_topic"
    assert "domain" not in call
