"""Promotion and rollback (bot.registry.switch) across fake Rasa instances: every one switched
with the token, the live file replaced, the one it replaced kept, who and when recorded; an
instance that refuses puts the others back; what may not be promoted is refused."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.registry import switch
from bot.registry.instances import REGISTRATION, Registration, instance_url
from bot.registry.records import DONE, FAILED, LIVE, PROMOTE, RETIRED, ROLLBACK, Registry
from bot.settings import ServingSettings, Settings
from tests.support.registry import TOKEN, compared_candidate, fake_rasa, register

CANDIDATE = "20261203-101500-abcd"
LIVE_BYTES = b"the model make train made"


@pytest.fixture
def token_settings(settings: Settings) -> Settings:
    return Settings(
        tracker_store_url=settings.tracker_store_url,
        models_dir=settings.models_dir,
        role_store_url=settings.role_store_url,
        serving=ServingSettings(rasa_api_token=TOKEN),
    )


@pytest.fixture
def live_file(registry: Registry) -> Path:
    registry.paths.live.write_bytes(LIVE_BYTES)
    registry.paths.live_fingerprint.write_text('{"examples": "a", "others": "b", "finetunes": 1}\n')
    return registry.paths.live


def test_promote_switches_every_instance_then_the_live_file_and_rolls_back(
    registry: Registry, token_settings: Settings, live_file: Path
) -> None:
    compared_candidate(registry, CANDIDATE, b"the candidate")
    with fake_rasa() as first, fake_rasa() as second:
        register(registry, first)
        register(registry, second)
        out = io.StringIO()
        assert switch.promote(token_settings, CANDIDATE, "alice", out) == 0
        archive = str(registry.paths.archive(CANDIDATE))
        assert first.loaded == [archive] and second.loaded == [archive]
        assert live_file.read_bytes() == b"the candidate"
        assert 'finetunes": 0' in registry.paths.live_fingerprint.read_text()
        assert out.getvalue().startswith(f"Promoted {CANDIDATE} by alice: 2 instance(s)")

        live = registry.live()
        assert live.id == CANDIDATE
        assert live.switch is not None and (live.switch.by, live.switch.action) == (
            "alice",
            PROMOTE,
        )
        previous = registry.rollback_target()
        assert previous is not None and previous.startswith("trained-")
        kept = registry.model(previous)
        assert kept is not None and kept.status == RETIRED
        assert registry.paths.archive(previous).read_bytes() == LIVE_BYTES

        assert switch.rollback(token_settings, "bob", io.StringIO()) == 0
        assert first.loaded[-1] == str(registry.paths.archive(previous))
        assert second.model_file == registry.paths.archive(previous).name
        assert live_file.read_bytes() == LIVE_BYTES
        assert 'finetunes": 1' in registry.paths.live_fingerprint.read_text()
        assert registry.live().id == previous
        history = [(s.action, s.model_id, s.by, s.status) for s in registry.switches()]
        assert history == [
            (ROLLBACK, previous, "bob", DONE),
            (PROMOTE, CANDIDATE, "alice", DONE),
        ]
        record = registry.model(CANDIDATE)
        assert record is not None and record.status == RETIRED


def test_an_instance_that_refuses_puts_the_others_back(
    registry: Registry,
    token_settings: Settings,
    live_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    compared_candidate(registry, CANDIDATE, b"the candidate")
    with fake_rasa() as first, fake_rasa() as second:
        register(registry, first)
        register(registry, second)
        second.refuse = True
        assert switch.promote(token_settings, CANDIDATE, "alice", io.StringIO()) == 1
        assert "refused the model (500)" in capsys.readouterr().err
        previous = registry.model(registry.switches()[0].previous_id or "")
        assert previous is not None
        assert first.loaded == [
            str(registry.paths.archive(CANDIDATE)),
            str(registry.paths.archive(previous.id)),
        ]
    assert live_file.read_bytes() == LIVE_BYTES
    [failed] = registry.switches()
    assert failed.status == FAILED and "put back on" in failed.detail
    assert registry.live().id == previous.id  # make train's model, now in the registry


def test_what_may_not_be_promoted_is_refused(
    registry: Registry,
    token_settings: Settings,
    live_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    compared_candidate(registry, CANDIDATE, b"refused", refusals=["emergency st-x is missed"])
    assert switch.promote(token_settings, CANDIDATE, "alice", io.StringIO()) == 1
    assert "the comparison refused it: emergency st-x is missed" in capsys.readouterr().err
    assert switch.promote(token_settings, "no-such-model", "alice", io.StringIO()) == 1
    assert "there is no such model" in capsys.readouterr().err
    other = "20261203-111500-abcd"
    compared_candidate(registry, other, b"compared with an older live model")
    live_file.write_bytes(b"retrained by make train since")
    assert switch.promote(token_settings, other, "alice", io.StringIO()) == 1
    assert "compare again" in capsys.readouterr().err
    assert switch.rollback(token_settings, "alice", io.StringIO()) == 1
    assert "nothing to roll back to" in capsys.readouterr().err
    assert registry.switches() == []


def test_an_instance_with_its_api_off_or_no_token_is_refused(
    registry: Registry, token_settings: Settings, settings: Settings, live_file: Path
) -> None:
    compared_candidate(registry, CANDIDATE, b"the candidate")
    with fake_rasa() as instance:
        register(registry, instance)
        with pytest.raises(switch.SwitchError, match="RASA_API_TOKEN"):
            switch.switch(registry, settings, PROMOTE, CANDIDATE, "alice")  # no token here
        register(registry, instance, api=False)
        with pytest.raises(switch.SwitchError, match="HTTP API is off on"):
            switch.switch(registry, token_settings, PROMOTE, CANDIDATE, "alice")
    assert instance.loaded == []
    assert live_file.read_bytes() == LIVE_BYTES


def test_an_instance_whose_process_is_gone_is_forgotten(
    registry: Registry, token_settings: Settings, live_file: Path
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    registry.register_instance(
        "http://127.0.0.1:9", switch.socket.gethostname(), gone.pid, True, ""
    )
    compared_candidate(registry, CANDIDATE, b"the candidate")
    assert switch.promote(token_settings, CANDIDATE, "alice", io.StringIO()) == 0
    assert registry.instances() == []
    assert "no instance was running" in registry.switches()[0].detail
    record = registry.model(CANDIDATE)
    assert record is not None and record.status == LIVE


def test_a_rasa_server_registers_itself_and_leaves(
    registry: Registry, settings_env: pytest.MonkeyPatch, registry_log_url: str
) -> None:
    import argparse

    import rasa.cli.run

    settings_env.setenv("TRACKER_STORE_URL", registry_log_url)
    arguments = argparse.Namespace(
        func=rasa.cli.run.run, interface="0.0.0.0", port=5123, enable_api=True, model="m/x.tar.gz"
    )
    registration = Registration()
    registration.configure_commandline(arguments)
    (_, start), (_, stop) = arguments.server_listeners
    assert (start, stop) == ("after_server_start", "before_server_stop")
    registration.register(instance_url(arguments.interface, arguments.port), True, "x.tar.gz")
    [row] = registry.instances()
    assert (row.url, row.api, row.model) == ("http://127.0.0.1:5123", True, "x.tar.gz")
    registration.unregister()
    assert registry.instances() == []
    assert REGISTRATION is not registration  # bot.rasa_command run installs its own
