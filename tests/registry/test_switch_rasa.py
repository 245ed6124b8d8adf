"""Promotion and rollback on a real Rasa server, started as `make run` starts it (bot.serve)
with RASA_API_TOKEN: it registers itself through the plugin (bot.registry.instances), keeps
answering while PUT /model loads the candidate (bot.rasa_compat, adaptation 10), a
conversation begun before the switch carries on after it, and the row goes when it stops.

The candidate is the trained model re-compressed (the same model in other bytes: another
digest, another file name), so the test needs no second training."""

from __future__ import annotations

import gzip
import io
import threading
import time
from typing import Any

import pytest

from bot import serve
from bot.registry import switch
from bot.registry.records import DONE, PROMOTE, ROLLBACK, Registry
from bot.settings import Settings
from tests.support.fixtures import SENDER_ID_KEY
from tests.support.http import Conversation, get, say
from tests.support.registry import TOKEN, compared_candidate
from tests.support.servers import ARTIFACTS, free_port, wait_for

CANDIDATE = "20261203-120000-live"


def status(rasa_url: str) -> str:
    reply = get(f"{rasa_url}/status?token={TOKEN}")
    assert reply.status == 200, reply
    model_file: str = reply.json()["model_file"]
    return model_file


def test_a_running_rasa_is_switched_while_it_answers_and_rolled_back(
    live_registry: Registry,
    live_settings: Settings,
    role_store_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry, settings = live_registry, live_settings
    live = registry.paths.live
    original = live.read_bytes()
    compared_candidate(registry, CANDIDATE, gzip.compress(gzip.decompress(original), 6))
    env = {
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "ROLE_STORE_URL": role_store_url,
        "SENDER_ID_KEY": SENDER_ID_KEY,
        "MODELS_DIR": str(registry.paths.models_dir),
        "RASA_API_TOKEN": TOKEN,
    }
    ports = serve.Ports(rasa=free_port(), actions=free_port())
    with serve.assistant(ports, model=live, log_dir=ARTIFACTS / "logs", extra_env=env) as running:
        [instance] = wait_for(registry.instances, 60, "the Rasa server to register itself")
        assert (instance.url, instance.api, instance.model) == (
            running.rasa_url,
            True,
            "careers.tar.gz",
        )
        assert status(running.rasa_url) == "careers.tar.gz"

        trainee = Conversation(running.rasa_url, "trainee-in-progress")
        assert trainee.text("tell me what an AP does")

        loading: list[float] = []  # when PUT /model was sent, and when the load was checked
        load = switch.load

        def timed_load(*args: Any) -> switch.Answer:
            loading.append(time.monotonic())
            try:
                return load(*args)
            finally:
                loading.append(time.monotonic())

        monkeypatch.setattr(switch, "load", timed_load)
        out = io.StringIO()
        promoting = threading.Thread(
            target=lambda: switch.promote(settings, CANDIDATE, "alice", out), daemon=True
        )
        promoting.start()
        meanwhile: list[tuple[float, float, bool]] = []
        while promoting.is_alive():
            sent = time.monotonic()
            answered = say(running.rasa_url, "someone-else", "hello").answered
            meanwhile.append((sent, time.monotonic(), answered))
        promoting.join()
        assert out.getvalue().startswith(f"Promoted {CANDIDATE} by alice: 1 instance(s)")
        put_sent, loaded = loading
        during = [m for m in meanwhile if put_sent < m[0] and m[1] < loaded]
        assert during and all(answered for *_, answered in during), (loading, meanwhile)

        assert status(running.rasa_url) == f"{CANDIDATE}.tar.gz"
        # The role the trainee asked about before the switch is still theirs after it.
        assert "Society of Radiographers" in trainee.text("and how would they get accredited")
        assert live.read_bytes() == registry.paths.archive(CANDIDATE).read_bytes()

        assert switch.rollback(settings, "bob", io.StringIO()) == 0
        previous = registry.live().id
        assert previous is not None and previous.startswith("trained-")
        assert status(running.rasa_url) == f"{previous}.tar.gz"
        assert live.read_bytes() == original
        assert trainee.text("thanks")
        history = [(s.action, s.model_id, s.by, s.status) for s in registry.switches()]
        assert history == [
            (ROLLBACK, previous, "bob", DONE),
            (PROMOTE, CANDIDATE, "alice", DONE),
        ]
    assert registry.instances() == []  # it removed its row as it stopped
