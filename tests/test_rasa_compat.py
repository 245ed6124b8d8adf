"""bot/rasa_compat.py: each adaptation of Rasa 3.6, installed once, refused on another Rasa.

No server, model or browser: the Rasa classes are used directly, and every test starts from
stock Rasa and puts it back (`stock_rasa`), since install() changes classes for the process.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import numpy as np
import pytest
import rasa
import rasa.cli.run
import rasa.cli.train
import rasa.core.channels
import rasa.core.channels.channel
import rasa.core.channels.console as console
import rasa.engine.storage.local_model_storage as local_model_storage
import rasa.server
import tensorflow as tf
from rasa.core.actions.action import ActionExecutionRejection, ActionSessionStart, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import (
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    TrackerStore,
)
from rasa.plugin import plugin_manager
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import FeatureArray, RasaModelData
from rasa.utils.tensorflow.models import RasaModel

from bot import rasa_compat
from bot.channels.replies import APOLOGY
from bot.channels.rest import RestInput
from bot.channels.shell import ShellInput
from bot.channels.webhooks import handle
from bot.settings import PROJECT_ROOT
from bot.tracking.store import MaskingTrackerStore

MASKING_STORE = "bot.tracking.store.MaskingTrackerStore"
REPLACED = (
    (RemoteAction, "run"),
    (RemoteAction, "_validate_action_result"),
    (Agent, "_create_tracker_store"),
    (RasaModel, "load"),
    (local_model_storage, "TarSafe"),
    (rasa.server, "_load_agent"),
    (RemoteAction, "_action_call_format"),
    (MessageProcessor, "handle_message"),
    (MessageProcessor, "_update_tracker_session"),
    (ActionSessionStart, "_slot_set_events_from_tracker"),
)


@pytest.fixture
def stock_rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rasa as shipped during the test, and as it was before the test afterwards."""
    monkeypatch.setattr(rasa_compat, "_originals", {})
    for owner, name in (*REPLACED, (console, "_print_bot_output")):
        original = rasa_compat._originals.get((owner, name), vars(owner)[name])
        monkeypatch.setattr(owner, name, original)
    monkeypatch.setitem(rasa.core.channels.BUILTIN_CHANNELS, "cmdline", console.CmdlineInput)
    if "fit" in vars(RasaModel):  # inherited from keras.Model in stock Rasa
        monkeypatch.delattr(RasaModel, "fit")
    manager = plugin_manager()
    registered = manager.is_registered(rasa_compat.STARTUP_CHECK)
    if registered:
        manager.unregister(rasa_compat.STARTUP_CHECK)
    yield
    if manager.is_registered(rasa_compat.STARTUP_CHECK) and not registered:
        manager.unregister(rasa_compat.STARTUP_CHECK)


def test_install_replaces_each_attribute_and_registers_the_check(stock_rasa: None) -> None:
    stock_run = vars(RemoteAction)["run"]
    rasa_compat.install()
    assert vars(RemoteAction)["run"] is rasa_compat.run_or_apologise
    replaced = vars(Agent)["_create_tracker_store"]
    assert replaced.__func__ is rasa_compat.tracker_store_that_raises
    assert rasa_compat._original(RemoteAction, "run") is stock_run
    assert plugin_manager().is_registered(rasa_compat.STARTUP_CHECK)


def test_installing_twice_changes_nothing(stock_rasa: None) -> None:
    rasa_compat.install()
    before = {(owner, name): vars(owner)[name] for owner, name in REPLACED}
    originals = dict(rasa_compat._originals)
    rasa_compat.install()
    assert {(owner, name): vars(owner)[name] for owner, name in REPLACED} == before
    # The adaptation must not become its own original (it would call itself forever).
    assert rasa_compat._originals == originals
    assert rasa_compat._original(RemoteAction, "run") is not rasa_compat.run_or_apologise
    hooks = plugin_manager().hook.configure_commandline.get_hookimpls()
    assert [hook.plugin for hook in hooks].count(rasa_compat.STARTUP_CHECK) == 1


def test_install_refuses_another_rasa_version(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for other in ("3.7.0", "3.6.22"):
        monkeypatch.setattr(rasa, "__version__", other)
        with pytest.raises(rasa_compat.RasaIncompatible, match=rf"Rasa 3\.6\.21, not {other}"):
            rasa_compat.install()
    assert vars(RemoteAction)["run"] is not rasa_compat.run_or_apologise


def test_install_refuses_another_tensorflow(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tf, "__version__", "2.13.0")
    with pytest.raises(rasa_compat.RasaIncompatible, match=r"Keras 2\.12\.0, not 2\.13\.0"):
        rasa_compat.install()


def _changed(*args: Any, **kwargs: Any) -> None:
    """Stands in for an upstream body that a release changed."""


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        *REPLACED,
        (FailSafeTrackerStore, "__init__"),
        (rasa.core.channels.channel, "CollectingOutputChannel"),
        (MessageProcessor, "_run_action"),
        (ActionSessionStart, "run"),
    ],
)
def test_install_refuses_upstream_code_that_changed(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str
) -> None:
    """A body the adaptations replace or rely on, changed in place, fails at start-up."""
    monkeypatch.setattr(owner, name, _changed)
    with pytest.raises(rasa_compat.RasaIncompatible, match=r"tests/test_rasa_compat\.py is not"):
        rasa_compat.install()


def test_every_recorded_fingerprint_is_checked(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UPSTREAM names exactly what install() and install_shell() check: none goes stale."""
    checked: list[str] = []
    check = rasa_compat.check_upstream

    def recording(owner: Any, name: str) -> None:
        checked.append(rasa_compat.upstream_name(owner, name))
        check(owner, name)

    monkeypatch.setattr(rasa_compat, "check_upstream", recording)
    monkeypatch.setattr(console, "_print_bot_output", vars(console)["_print_bot_output"])
    rasa_compat.install_shell()
    assert sorted(checked) == sorted(rasa_compat.UPSTREAM)


@pytest.mark.parametrize(("owner", "name"), REPLACED)
def test_install_refuses_when_an_attribute_it_replaces_is_gone(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch, owner: type, name: str
) -> None:
    """A rename upstream (say `_create_tracker_store`) must not leave the adaptation off."""
    monkeypatch.delattr(owner, name)
    with pytest.raises(rasa_compat.RasaIncompatible, match=rf"{owner.__name__}\.{name} is not"):
        rasa_compat.install()


def test_install_refuses_a_rasa_model_with_a_fit_of_its_own(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RasaModel, "fit", lambda self, *args, **kwargs: None, raising=False)
    with pytest.raises(rasa_compat.RasaIncompatible, match=r"RasaModel\.fit is not keras"):
        rasa_compat.install()


# 6 and 7: a RasaModel small enough to train here, with dropout (random draws) and an L2 loss
# (Rasa's train_step adds the model's regularisation losses), on Rasa's own batches.


class TinyModel(RasaModel):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(random_seed=7)
        self.dropout = tf.keras.layers.Dropout(0.5)
        self.dense = tf.keras.layers.Dense(2, kernel_regularizer=tf.keras.regularizers.l2(1e-3))

    def batch_loss(self, batch_in: Any) -> Any:
        features, labels = batch_in[0] if isinstance(batch_in[0], tuple) else batch_in
        logits = self.dense(self.dropout(tf.reshape(features, [-1, 4]), training=self._training))
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )


@pytest.fixture
def tiny_data() -> RasaModelData:
    features = np.random.default_rng(3).random((12, 4)).astype(np.float32)
    labels = (features[:, :1] > 0.5).astype(np.int32)
    return RasaModelData(
        label_key="label",
        label_sub_key="ids",
        data={
            "text": {"sentence": [FeatureArray(features, number_of_dimensions=2)]},
            "label": {"ids": [FeatureArray(labels, number_of_dimensions=2)]},
        },
    )


def train_tiny(data: RasaModelData) -> TinyModel:
    model = TinyModel()
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01))
    model.fit(RasaBatchDataGenerator(data, batch_size=[4, 8], epochs=3), epochs=3, verbose=False)
    return model


def test_training_traces_the_training_step_once_and_learns_the_same_weights(
    stock_rasa: None, tiny_data: RasaModelData
) -> None:
    stock = train_tiny(tiny_data)
    assert stock.train_function.experimental_get_tracing_count() == 2
    rasa_compat.install()
    adapted = train_tiny(tiny_data)
    assert adapted.train_function.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(adapted.dense.kernel.numpy(), stock.dense.kernel.numpy())


def test_a_model_loads_its_weights_without_tracing_a_training_step(
    stock_rasa: None, tiny_data: RasaModelData, tmp_path: Path
) -> None:
    trained = train_tiny(tiny_data)
    trained.save(str(tmp_path / "weights"))
    stock = TinyModel.load(str(tmp_path / "weights"), tiny_data)
    assert stock.train_function.experimental_get_tracing_count() == 2
    rasa_compat.install()
    loaded = TinyModel.load(str(tmp_path / "weights"), tiny_data)
    assert not hasattr(loaded.train_function, "experimental_get_tracing_count")  # eager
    assert not loaded.run_eagerly  # predictions still run as a traced function
    np.testing.assert_array_equal(loaded.dense.kernel.numpy(), trained.dense.kernel.numpy())


def _archive(path: Path) -> int:
    """Write a model-sized archive as Rasa's model storage does; return gzip's XFL byte."""
    weights = path.with_suffix(".data")
    weights.write_bytes(np.random.default_rng(5).random(50_000).astype(np.float32).tobytes())
    with local_model_storage.TarSafe.open(path, "w:gz") as tar:
        tar.add(weights, arcname="weights.data")
    with local_model_storage.TarSafe.open(path, mode="r:gz") as tar:
        assert tar.getnames() == ["weights.data"]
    return path.read_bytes()[8]


def test_the_model_archive_is_gzipped_fast_and_reads_back(stock_rasa: None, tmp_path: Path) -> None:
    assert _archive(tmp_path / "stock.tar.gz") == 2  # gzip's "maximum compression"
    rasa_compat.install()
    assert _archive(tmp_path / "adapted.tar.gz") == 4  # "fastest"


def test_install_validates_action_answers_with_a_validator_built_once(stock_rasa: None) -> None:
    rasa_compat.install()
    assert vars(RemoteAction)["_validate_action_result"] is rasa_compat.validate_action_result
    action = RemoteAction("action_x", None)
    answer = {"events": [{"event": "slot", "name": "role", "value": "x"}], "responses": []}
    assert action._validate_action_result(answer) is True
    assert action._validate_action_result({"events": []}) is True
    assert rasa_compat.action_response_validator.cache_info().currsize == 1
    assert rasa_compat.action_response_validator() is rasa_compat.action_response_validator()


@pytest.mark.parametrize(
    "answer",
    [
        {"events": "not a list"},
        {"events": [{"event": "no_such_event"}]},
        {"responses": "not a list"},
        {"events": [{"event": "slot", "name": 1}]},
    ],
)
def test_an_invalid_action_answer_is_refused_as_stock_rasa_refuses_it(
    stock_rasa: None, answer: dict[str, Any]
) -> None:
    action = RemoteAction("action_x", None)
    with pytest.raises(jsonschema.ValidationError) as stock:
        action._validate_action_result(answer)
    rasa_compat.install()
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate") as ours:
        action._validate_action_result(answer)
    assert ours.value.path == stock.value.path
    assert ours.value.validator == stock.value.validator


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_action(action: RemoteAction) -> list[Any]:
    domain = Domain.empty()
    tracker = DialogueStateTracker("someone", domain.slots)
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return await action.run(CollectingOutputChannel(), nlg, tracker, domain)


async def test_a_custom_action_whose_server_is_down_is_an_apology(stock_rasa: None) -> None:
    endpoint = EndpointConfig(f"http://127.0.0.1:{closed_port()}/webhook")
    action = RemoteAction("action_answer_topic", endpoint)
    with pytest.raises(Exception, match="Failed to execute custom action"):
        await run_action(action)  # stock Rasa: an error, and the user hears nothing
    rasa_compat.install()
    events = await run_action(action)
    assert [(type(event), event.text) for event in events] == [(BotUttered, APOLOGY)]


async def test_a_rejected_action_is_still_rejected(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form rejecting its action is Rasa's own flow, not a failure to apologise for."""

    async def reject(self: RemoteAction, *args: Any) -> list[Any]:
        raise ActionExecutionRejection(self.name())

    monkeypatch.setattr(RemoteAction, "run", reject)
    where = rasa_compat.upstream_name(RemoteAction, "run")
    monkeypatch.setitem(rasa_compat.UPSTREAM, where, rasa_compat.fingerprint(reject))
    rasa_compat.install()
    with pytest.raises(ActionExecutionRejection):
        await run_action(RemoteAction("action_form", None))


class BrokenStore(InMemoryTrackerStore):
    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        raise ConnectionError("the database is down")


async def test_a_tracker_store_that_fails_is_an_error_not_memory(stock_rasa: None) -> None:
    stock = Agent(tracker_store=BrokenStore(Domain.empty()))
    assert await stock.tracker_store.retrieve("someone") is None  # stock: an empty conversation
    rasa_compat.install()
    agent = Agent(tracker_store=BrokenStore(Domain.empty()))
    with pytest.raises(rasa_compat.TrackerStoreUnavailable, match="the database is down"):
        await agent.tracker_store.retrieve("someone")


@pytest.fixture
def masking_store() -> MaskingTrackerStore:
    return MaskingTrackerStore(Domain.empty(), url="sqlite://", sender_id_key="k" * 32)


def configured(store_type: str | None) -> EndpointConfig:
    return EndpointConfig(store_type=store_type) if store_type else EndpointConfig()


def test_the_check_passes_on_the_masking_store(masking_store: MaskingTrackerStore) -> None:
    in_use = FailSafeTrackerStore(masking_store)  # as the agent holds it
    assert rasa_compat.tracker_store_problem(in_use, configured(MASKING_STORE)) is None


def test_the_check_fails_when_rasa_fell_back_to_memory() -> None:
    in_use: TrackerStore = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    problem = rasa_compat.tracker_store_problem(in_use, configured(MASKING_STORE))
    assert problem == f"the endpoints file names {MASKING_STORE!r}, Rasa uses InMemoryTrackerStore"


def test_the_check_reports_the_import_error_rasa_swallowed() -> None:
    in_use = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    problem = rasa_compat.tracker_store_problem(in_use, configured("bot.tracking.nowhere.Store"))
    assert problem is not None
    assert "cannot be imported" in problem
    assert "bot.tracking.nowhere" in problem


def test_the_check_accepts_memory_when_no_store_is_configured() -> None:
    in_use = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    assert rasa_compat.tracker_store_problem(in_use, None) is None
    assert rasa_compat.tracker_store_problem(in_use, configured(None)) is None


def test_the_check_fails_on_memory_for_a_builtin_store_type() -> None:
    in_use = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    assert rasa_compat.tracker_store_problem(in_use, configured("sql")) is not None


def serving_arguments(tmp_path: Path, func: Any = rasa.cli.run.run) -> argparse.Namespace:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: {MASKING_STORE}\n")
    return argparse.Namespace(func=func, endpoints=str(endpoints))


def startup_listeners(arguments: argparse.Namespace) -> list[Any]:
    """What Rasa's command line hands rasa.core.run.serve_application as server listeners."""
    plugin_manager().hook.configure_commandline(cmdline_arguments=arguments)
    return list(getattr(arguments, "server_listeners", []))


async def test_rasa_run_stops_when_its_store_is_not_the_configured_one(
    stock_rasa: None, tmp_path: Path
) -> None:
    rasa_compat.install()
    [(listener, event), *_purge] = startup_listeners(serving_arguments(tmp_path))
    assert event == "after_server_start"
    fell_back = FailSafeTrackerStore(InMemoryTrackerStore(Domain.empty()))
    app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=fell_back)))
    with pytest.raises(SystemExit, match="Rasa uses InMemoryTrackerStore"):
        await listener(app, None)


async def test_rasa_run_starts_with_the_masking_store(
    stock_rasa: None, tmp_path: Path, masking_store: MaskingTrackerStore
) -> None:
    rasa_compat.install()
    [(listener, _), *_purge] = startup_listeners(serving_arguments(tmp_path))
    agent = Agent(tracker_store=masking_store)
    # The check exits the process (SystemExit, as in the test above) unless the store is ours.
    assert await listener(SimpleNamespace(ctx=SimpleNamespace(agent=agent)), None) is None
    assert rasa_compat.innermost_store(agent.tracker_store) is masking_store


async def test_rasa_run_purges_its_log_until_it_stops(
    stock_rasa: None,
    tmp_path: Path,
    masking_store: MaskingTrackerStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The log's retention purge is a task of the server: started with it, ended with it."""
    rasa_compat.install()
    _check, start, stop = startup_listeners(serving_arguments(tmp_path))
    assert start == (rasa_compat.start_purging, "after_server_start")
    assert stop == (rasa_compat.stop_purging, "before_server_stop")
    purged = asyncio.Event()

    def purge() -> None:
        asyncio.run_coroutine_threadsafe(_set(purged), loop)

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(masking_store, "purge", purge)
    app = SimpleNamespace(ctx=SimpleNamespace(agent=Agent(tracker_store=masking_store)))
    await rasa_compat.start_purging(app, None)
    await asyncio.wait_for(purged.wait(), timeout=10)  # at once, then every interval
    task = app.ctx.log_purge
    await rasa_compat.stop_purging(app, None)
    assert task.cancelled()


async def _set(event: asyncio.Event) -> None:
    event.set()


async def test_no_purge_task_when_the_interval_is_zero(
    stock_rasa: None, masking_store: MaskingTrackerStore, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("LOG_PURGE_INTERVAL_MINUTES", "0")
    app = SimpleNamespace(ctx=SimpleNamespace(agent=Agent(tracker_store=masking_store)))
    await rasa_compat.start_purging(app, None)
    assert not hasattr(app.ctx, "log_purge")
    await rasa_compat.stop_purging(app, None)


def test_only_the_commands_that_serve_get_the_check(stock_rasa: None, tmp_path: Path) -> None:
    rasa_compat.install()
    assert startup_listeners(serving_arguments(tmp_path, func=rasa.cli.train.run_training)) == []


def test_install_shell_puts_our_rest_channel_and_printer_in_the_shell(stock_rasa: None) -> None:
    rasa_compat.install_shell()
    rasa_compat.install_shell()
    channel = rasa.core.channels.BUILTIN_CHANNELS["cmdline"].from_credentials(None)
    assert isinstance(channel, RestInput)
    assert (channel.name(), channel.url_prefix()) == ("cmdline", "rest")
    assert console._print_bot_output is rasa_compat.print_with_sources
    assert vars(RemoteAction)["run"] is rasa_compat.run_or_apologise


def test_install_shell_refuses_a_rasa_without_the_stock_shell_channel(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(rasa.core.channels.BUILTIN_CHANNELS, "cmdline")
    with pytest.raises(rasa_compat.RasaIncompatible, match="no stock 'cmdline' channel"):
        rasa_compat.install_shell()
    assert rasa.core.channels.BUILTIN_CHANNELS.get("cmdline") is not ShellInput


def test_the_shell_prints_a_reply_with_its_sources(
    stock_rasa: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rasa_compat.install_shell()
    source = {"title": "Radiographer", "url": "https://www.healthcareers.nhs.uk/radiographer"}
    console._print_bot_output({"text": "An answer.", "sources": [source]})
    printed = capsys.readouterr().out
    assert "An answer." in printed
    assert "Source: Radiographer\nhttps://www.healthcareers.nhs.uk/radiographer" in printed


class Unreachable(CollectingOutputChannel):
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        raise ConnectionError("the provider is down too")


async def test_a_message_that_cannot_be_handled_gets_the_apology_on_its_channel() -> None:
    """What replaced the Agent.handle_message patch: the channels' own helper."""

    async def lock_store_down(message: UserMessage) -> None:
        raise ConnectionError("the lock store is down")

    output = CollectingOutputChannel()
    message = UserMessage("hello", output, "rest:someone", input_channel="rest")
    assert await handle(lock_store_down, message) is False
    assert output.messages == [{"recipient_id": "rest:someone", "text": APOLOGY}]
    unreachable = UserMessage("hello", Unreachable(), "sms:+447700900123", input_channel="sms")
    assert await handle(lock_store_down, unreachable) is False


async def test_a_handled_message_gets_no_apology() -> None:
    handled: list[str] = []

    async def answer(message: UserMessage) -> None:
        handled.append(message.text or "")

    output = CollectingOutputChannel()
    assert await handle(answer, UserMessage("hello", output, "rest:someone")) is True
    assert (handled, output.messages) == (["hello"], [])


async def test_put_model_loads_in_a_worker_thread_while_the_loop_answers(
    stock_rasa: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PUT /model awaits rasa.server._load_agent; stock Rasa loads on the event loop."""
    loaded_in: list[int] = []
    loop_ticks = 0

    async def stock_load(model_path: str | None = None, **_kwargs: Any) -> Any:
        loaded_in.append(threading.get_ident())
        await asyncio.sleep(0)  # an event loop of its own runs this
        time_spent_loading = threading.Event()
        time_spent_loading.wait(0.3)  # a synchronous load, as Agent.load_model is
        return SimpleNamespace(path=model_path)

    monkeypatch.setattr(rasa.server, "_load_agent", stock_load)
    monkeypatch.setitem(
        rasa_compat.UPSTREAM, "rasa.server._load_agent", rasa_compat.fingerprint(stock_load)
    )
    rasa_compat.install()
    assert rasa.server._load_agent is rasa_compat.load_agent_in_a_thread

    async def ticking() -> None:
        nonlocal loop_ticks
        while True:
            loop_ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(ticking())
    agent = await rasa.server._load_agent(model_path="models/x.tar.gz")
    ticker.cancel()
    assert agent.path == "models/x.tar.gz"
    assert loaded_in and loaded_in[0] != threading.get_ident()
    assert loop_ticks >= 10  # the loop kept running while the model loaded


# 11 to 14: what grows with a conversation


def _two_turns() -> DialogueStateTracker:
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    tracker = DialogueStateTracker("someone", domain.slots)
    for text, role in (("what does an AP do?", "assistant practitioner"), ("and ISWs?", "isw")):
        tracker.update(UserUttered(text, {"name": "ask_duties", "confidence": 0.9}))
        tracker.update(SlotSet("role", role))
        tracker.update(ActionExecuted("action_answer_topic"))
        tracker.update(BotUttered("They ..."))
        tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("how do they apply?", {"name": "ask_apply", "confidence": 0.9}))
    return tracker


def test_an_action_call_carries_this_turns_events_and_the_whole_state(stock_rasa: None) -> None:
    tracker = _two_turns()
    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    action = RemoteAction(
        "action_answer_topic", EndpointConfig("http://actions", enable_selective_domain=True)
    )
    stock = action._action_call_format(tracker, domain)
    rasa_compat.install()
    sent = action._action_call_format(tracker, domain)
    assert [e["event"] for e in stock["tracker"]["events"]][-1] == "user"
    assert len(stock["tracker"]["events"]) == 11
    assert sent["tracker"]["events"] == [tracker.events[-1].as_dict()]
    assert sent["tracker"]["slots"]["role"] == "isw"
    # Everything else is stock's: the state is the whole tracker's.
    for part in (sent, stock):
        del part["tracker"]["events"]
    assert sent == stock


def test_a_new_session_carries_each_slot_once(stock_rasa: None) -> None:
    tracker = _two_turns()
    stock = ActionSessionStart._slot_set_events_from_tracker(tracker)
    rasa_compat.install()
    carried = ActionSessionStart._slot_set_events_from_tracker(tracker)
    assert [(e.key, e.value) for e in stock] == [
        ("role", "assistant practitioner"),
        ("role", "isw"),
    ]
    assert carried == [SlotSet("role", "isw")]


class SessionsOnly:
    """What MessageProcessor._update_tracker_session and handle_message use of the
    processor, recorded; a session start applies what stock ActionSessionStart returns."""

    def __init__(self, tracker: DialogueStateTracker, expired: bool = False) -> None:
        self.tracker = tracker
        self.expired = expired
        self.started: list[str] = []
        self.handled: list[str] = []
        self.saved = 0
        self.domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
        self.nlg = None
        self.model_metadata = SimpleNamespace(training_type=None)

    def _has_session_expired(self, tracker: DialogueStateTracker) -> bool:
        return self.expired

    def _get_action(self, name: str) -> str:
        return name

    async def _run_action(self, action: str, tracker: DialogueStateTracker, **_: Any) -> bool:
        self.started.append(action)
        carried = ActionSessionStart._slot_set_events_from_tracker(tracker)
        for event in [ActionExecuted(action), SessionStarted(), *carried]:
            tracker.update(event)
        tracker.update(ActionExecuted("action_listen"))
        return True

    async def fetch_tracker_and_update_session(
        self, sender_id: str, output_channel: Any, metadata: Any = None
    ) -> DialogueStateTracker:
        await MessageProcessor._update_tracker_session(self, self.tracker, output_channel)
        return self.tracker

    async def _handle_message_with_tracker(
        self, message: UserMessage, tracker: DialogueStateTracker
    ) -> None:
        self.handled.append(message.text or "")
        tracker.update(UserUttered(message.text, {"name": "greet", "confidence": 0.9}))

    async def run_action_extract_slots(
        self, output_channel: Any, tracker: DialogueStateTracker
    ) -> DialogueStateTracker:
        return tracker

    async def _run_prediction_loop(
        self, output_channel: Any, tracker: DialogueStateTracker
    ) -> None:
        await output_channel.send_response(tracker.sender_id, {"text": "Hello!"})

    async def run_anonymization_pipeline(self, tracker: DialogueStateTracker) -> None:
        pass

    async def save_tracker(self, tracker: DialogueStateTracker) -> None:
        self.saved += 1


@pytest.mark.parametrize(
    ("max_turns", "loop", "started"),
    [(3, None, ["action_session_start"]), (4, None, []), (3, "action_two_stage_fallback", [])],
)
async def test_a_session_ends_after_its_turns_unless_a_loop_is_active(
    stock_rasa: None,
    settings_env: pytest.MonkeyPatch,
    max_turns: int,
    loop: str | None,
    started: list[str],
) -> None:
    settings_env.setenv("SESSION_MAX_TURNS", str(max_turns))
    rasa_compat.install()
    tracker = _two_turns()  # three user messages
    if loop:
        tracker.update(ActiveLoop(loop))
    processor = SessionsOnly(tracker)
    await MessageProcessor._update_tracker_session(processor, tracker, None)
    assert processor.started == started
    # The new session starts with the slots, and counts the messages of the one before.
    assert tracker.get_slot("role") == "isw"
    assert rasa_compat.messages_in_session(tracker) == 3


async def test_a_conversation_past_its_limit_gets_a_polite_reply(
    stock_rasa: None, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.setenv("CONVERSATION_MESSAGE_LIMIT", "5")
    settings_env.setenv("SESSION_MAX_TURNS", "3")
    rasa_compat.install()
    processor = SessionsOnly(_two_turns())  # three messages in the session so far

    async def say(text: str) -> list[dict[str, Any]] | None:
        message = UserMessage(text, CollectingOutputChannel(), "someone")
        return await MessageProcessor.handle_message(processor, message)

    # The fourth starts a new session (its turns), counted on: the fifth is the last answered.
    assert await say("four") == [{"recipient_id": "someone", "text": "Hello!"}]
    assert processor.started == ["action_session_start"]
    assert await say("five") == [{"recipient_id": "someone", "text": "Hello!"}]
    limited = [{"recipient_id": "someone", "text": rasa_compat.limit_reply(5)}]
    assert await say("six") == limited
    assert (processor.handled, processor.saved) == (["four", "five"], 2)
    # After an idle hour, a new session: answered again.
    processor.expired = True
    processor.started.clear()
    original = rasa_compat._original(MessageProcessor, "_update_tracker_session")

    async def expire(self: Any, tracker: DialogueStateTracker, *_: Any) -> None:
        await self._run_action("action_session_start", tracker)

    rasa_compat._originals[(MessageProcessor, "_update_tracker_session")] = expire
    try:
        assert await say("seven") == [{"recipient_id": "someone", "text": "Hello!"}]
    finally:
        rasa_compat._originals[(MessageProcessor, "_update_tracker_session")] = original


def _project_classes() -> Iterator[type]:
    """Every class defined in a module of bot/ or actions/ that Rasa can load."""
    import importlib
    import inspect
    import pkgutil

    import actions
    import bot

    for package in (bot, actions):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations.versions" in info.name or info.name.endswith((".env", "__main__")):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == info.name:
                    yield cls


def test_no_class_of_the_project_overrides_private_rasa_code() -> None:
    """Every bending of Rasa is in bot/rasa_compat.py: no subclass elsewhere redefines a
    private method or attribute (`_name`) of a Rasa class it inherits from."""
    overrides = []
    for cls in _project_classes():
        for base in cls.__mro__[1:]:
            if not base.__module__.startswith("rasa."):
                continue
            upstream = f"{base.__module__}.{base.__qualname__}"
            overrides += [
                f"{cls.__module__}.{cls.__qualname__}.{name} ({upstream})"
                for name in vars(cls)
                if name.startswith("_")
                and not name.startswith("__")
                and name != "_abc_impl"
                and name in vars(base)
            ]
    assert overrides == []


def test_the_check_finds_a_private_override() -> None:
    """The test above would see one: a class like the REST replies' old one is found."""

    class Old(CollectingOutputChannel):
        async def _persist_message(self, message: dict[str, Any]) -> None:
            """What bot/channels/rest.py did before."""

    assert "_persist_message" in vars(Old) and "_persist_message" in vars(CollectingOutputChannel)


def test_the_rest_replies_override_every_way_a_message_is_stored() -> None:
    """ClientReplies addresses each message itself: a method of CollectingOutputChannel that
    stores a message and that it did not override would store an unaddressed reply."""
    import inspect

    from bot.channels.rest import ClientReplies

    storing = {
        name
        for name, code in vars(CollectingOutputChannel).items()
        if callable(code) and "self._persist_message(" in inspect.getsource(code)
    }
    assert storing == {
        "send_text_message",
        "send_image_url",
        "send_attachment",
        "send_text_with_buttons",
        "send_custom_json",
    }
    assert storing <= set(vars(ClientReplies))
