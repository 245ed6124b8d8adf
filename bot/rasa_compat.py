"""Every place this project bends Rasa 3.6, in one module.

`install()` puts the server's adaptations in place; `install_shell()` adds the terminal chat's.
The one entry point that runs Rasa, `python -m bot.rasa_command` (`run` for every server,
`shell`, `train`, `test`, `data`), calls one of them before Rasa loads anything. Importing this
module, or any channel, changes nothing. Both check the exact Rasa version (and TensorFlow's,
for 6 and 7), that every attribute they replace is still there, and that its source, and that
of the upstream code they or the project's own classes rely on, is the source they were
written against (UPSTREAM, a fingerprint each): an upgrade, a rename or a changed body fails at
start-up, naming the upstream file, instead of silently turning an adaptation off.

Nothing else in the project replaces or overrides Rasa's private code: the conversation log
(bot/tracking/store.py) and the REST channel's replies (bot/channels/rest.py) are built on
Rasa's public classes and methods only, and what they rely on is fingerprinted here.

1. `RemoteAction.run`: a failed custom action is an apology, not silence.
2. `Agent._create_tracker_store`: a conversation log that fails is an error, not memory.
3. A start-up check (a Rasa plugin hook): the tracker store in use is the one the endpoints
   file names, or the server exits.
4. The shell's "cmdline" channel and printer (`install_shell()`).
5. `RemoteAction._validate_action_result`: the action server's answer is checked against a
   schema that is itself checked once, not once per message.
6. `RasaModel.load`: a trained model's weights are built by one eager step, not by tracing a
   TensorFlow training function twice (half of every model load).
7. `RasaModel.fit`: the variables exist before the first traced training step, so TensorFlow
   traces the training function once, not twice.
8. The model archive is gzipped at level 1, not 9: 4 of a training's 90 s went to squeezing
   a few per cent out of DIET's float weights.
9. A server task (the same plugin hook as 3): the conversation log purges what is past its
   retention period while the server runs; Rasa 3.6 keeps conversations for ever.
10. `rasa.server._load_agent`: PUT /model (a promotion, bot.registry.switch) loads the new
    model in a worker thread, not on the event loop, so the instance answers meanwhile.
11. `RemoteAction._action_call_format`: the action server is sent the conversation's state
    and the events of the current turn, not every event of the session.
12. `MessageProcessor.handle_message`: a session past CONVERSATION_MESSAGE_LIMIT messages (the
    sessions 13 starts count as one) gets a polite reply instead of an answer, and nothing
    more is stored.
13. `MessageProcessor._update_tracker_session`: a session ends after SESSION_MAX_TURNS
    messages as well as after an idle hour, slots carried over, so what the policies read
    each turn stops growing with the conversation.
14. `ActionSessionStart._slot_set_events_from_tracker`: a new session carries each slot's
    latest value once, not every SlotSet of the last session (those carried into it too).

What the channels do themselves (an apology when a message cannot be handled, signatures,
limits) is in bot/channels/, which subclasses Rasa's channels without patching them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import inspect
import logging
from functools import partial
from typing import Any

import jsonschema
import pluggy
import rasa
import rasa.core.channels
import rasa.core.channels.channel
import rasa.core.channels.console as console
import rasa.server
import rasa.shared.utils.io
from rasa.core.actions.action import (
    ActionExecutionRejection,
    ActionSessionStart,
    RemoteAction,
    create_bot_utterance,
)
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    TrackerStore,
)
from rasa.core.utils import AvailableEndpoints
from rasa.plugin import plugin_manager
from rasa.shared.constants import DOCS_URL_POLICIES
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.data import TrainingType
from rasa.shared.utils.common import class_from_module_path
from rasa.utils.endpoints import EndpointConfig

from bot.channels.replies import APOLOGY
from bot.settings import get_settings
from bot.tracking.store import MaskingTrackerStore, innermost_store

logger = logging.getLogger(__name__)

SUPPORTED_VERSION = "3.6.21"
# Adaptations 6 and 7 patch Keras's training loop, which comes with TensorFlow.
SUPPORTED_TENSORFLOW = "2.12.0"
# Rasa's own tracker store types (rasa.core.tracker_store._create_from_endpoint_config).
BUILTIN_TRACKER_STORES = frozenset({"redis", "mongod", "sql", "dynamo"})


class RasaIncompatible(RuntimeError):
    """This Rasa is not the one the adaptations were written for: check them before upgrading."""


class TrackerStoreNotInUse(SystemExit):
    """The endpoints file names a tracker store that Rasa is not using: the server stops."""


# What each replaced attribute was, by (owner, name): the adaptations call the original.
_originals: dict[tuple[Any, str], Any] = {}


def _original(owner: Any, name: str) -> Any:
    return _originals[(owner, name)]


# 1. RemoteAction.run


async def run_or_apologise(self: RemoteAction, *args: Any, **kwargs: Any) -> list[Event]:
    """RemoteAction.run, but a failure is an apology in the conversation.

    Rasa 3.6 logs a failed custom action (the action server down, timing out, or answering 500)
    and carries on with no reply, so the user sees nothing (RasaHQ/rasa#5588 asks for a
    default message; not done). Here the user is told, and the failure is still logged. A
    rejection (ActionExecutionRejection, a form's way of letting another policy act) is Rasa's
    own flow and passes through.
    """
    try:
        result: list[Event] = await _original(RemoteAction, "run")(self, *args, **kwargs)
        return result
    except ActionExecutionRejection:
        raise
    except Exception:
        logger.exception("custom action '%s' failed; the user was sent an apology", self.name())
        return [create_bot_utterance({"text": APOLOGY})]


# 2. Agent._create_tracker_store


class TrackerStoreUnavailable(RuntimeError):
    """The conversation log could not be read or written: the message was not handled."""


def _raise_unavailable(error: Exception) -> None:
    raise TrackerStoreUnavailable(f"the tracker store failed: {error!r}") from error


def tracker_store_that_raises(store: TrackerStore | None, domain: Domain) -> TrackerStore:
    """Agent._create_tracker_store, but a failure of the store reaches the caller.

    Rasa 3.6 wraps every tracker store in a FailSafeTrackerStore (RasaHQ/rasa#3243, PR #4699)
    that, when the database is down, carries on with an empty conversation and keeps what
    follows in memory only: the user gets answers without context, the turns are lost, and a
    save that then succeeds can store the wrong slice of events (a 2025 comment on #3243
    reports the same losses). Here the failure is raised instead, nothing is stored out of
    order, and the channel apologises (bot.channels.webhooks.handle).
    """
    if store is None:
        store = InMemoryTrackerStore(domain)
    else:
        store.domain = domain
    return FailSafeTrackerStore(store, on_tracker_store_error=_raise_unavailable)


# 5. RemoteAction._validate_action_result (installed by install(), numbered as the docstring)


@functools.lru_cache(maxsize=1)
def action_response_validator() -> Any:
    """A validator for Rasa's action-server response schema; the schema is checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validator built once.

    Rasa 3.6 calls `jsonschema.validate(result, schema)` on every custom action's answer, and
    that first checks the schema itself against the JSON Schema 2020-12 meta-schema (the
    schema grew with RasaHQ/rasa PR #8730). The schema never changes, but checking it took
    about 90 ms of CPU per message here, a quarter of the Rasa server's time (py-spy, in
    bench/README.md, "Where one message's time goes"; RasaHQ/rasa#8235 reports action-server
    latency). The answer is still validated in full, with the same error when it is invalid.
    """
    try:
        action_response_validator().validate(result)
    except jsonschema.ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid."
        )
        raise
    return True


# 6 and 7. TensorFlow tracing (installed by install(); TensorFlow is imported only then)
#
# Keras traces a `tf.function` twice when its first call creates variables: once to create
# them and once more without (TensorFlow's "variables on the first call" rule). Rasa's model
# creates its layers' and Adam's variables inside the first training step, so each training
# traced DIET's training step twice (py-spy: 15 + 9 s of a 100 s training), and each model
# load did the same for the one-example `fit` that only builds the weights (7 of 15 s).


def build_variables_eagerly(model: Any, data: Any) -> None:
    """Create a RasaModel's layer and optimizer variables outside any traced function: one
    forward pass over the first batch (not training: no dropout, no update) and Adam's slots.
    The metrics it touches are reset by `fit` at the start of each epoch."""
    inputs, _ = data[0]
    model.batch_loss((inputs,))  # as Keras hands a batch to `train_step`
    model.optimizer.build(model.trainable_variables)


def fit_with_variables_built(self: Any, x: Any = None, *args: Any, **kwargs: Any) -> Any:
    """keras.Model.fit for Rasa's models, with the variables created first (when the model
    trains in a graph, on Rasa's batches, and they do not exist yet): the training function is
    then traced once. The weights, the random draws and the losses are the same as stock's."""
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    optimizer = getattr(self, "optimizer", None)
    if (
        isinstance(x, RasaBatchDataGenerator)
        and len(x) > 0
        and optimizer is not None
        and not self.run_eagerly
        and not getattr(optimizer, "_built", False)
    ):
        build_variables_eagerly(self, x)
    return _original(RasaModel, "fit")(self, x, *args, **kwargs)


def load_with_eager_build(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """RasaModel.load, building the weights with an eager step instead of a traced one.

    Stock Rasa compiles the empty model and fits it on one example in a graph, only so that
    every weight exists before `load_weights` overwrites them; tracing that training function
    (twice, see above) was half of loading our model. Here the one-example fit runs eagerly
    and the model is then set back to graph mode, so predictions still run as a traced
    function. A model loaded to be fine-tuned goes through stock Rasa's path.
    """
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
    from rasa.utils.tensorflow.models import RasaModel

    if finetune_mode:
        return _original(RasaModel, "load").__func__(
            cls, model_file_name, model_data_example, predict_data_example, True, *args, **kwargs
        )
    import tensorflow as tf

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    run_eagerly = config.get(RUN_EAGERLY)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)), run_eagerly=True
    )
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.run_eagerly = run_eagerly
    model.load_weights(model_file_name)
    if predict_data_example:
        model.run_inference(predict_data_example)
    return model


def install_tensorflow_adaptations() -> None:
    """6 and 7. `fit` is keras.Model's, inherited by RasaModel: it is set on RasaModel itself."""
    import keras
    import tensorflow as tf
    from rasa.utils.tensorflow.models import RasaModel

    if (tf.__version__, keras.__version__) != (SUPPORTED_TENSORFLOW, SUPPORTED_TENSORFLOW):
        raise RasaIncompatible(
            f"adaptations 6 and 7 patch TensorFlow and Keras {SUPPORTED_TENSORFLOW}, not "
            f"{tf.__version__} and {keras.__version__}: check them before changing the version"
        )
    replace(RasaModel, "fit", fit_with_variables_built, inherited_from=keras.Model)
    replace(RasaModel, "load", _LOAD_WITH_EAGER_BUILD)


_LOAD_WITH_EAGER_BUILD = classmethod(load_with_eager_build)


# 8. The model archive's compression


class FastTarSafe:
    """Stands in for `tarsafe.TarSafe` in rasa.engine.storage.local_model_storage, which uses it
    to write the model archive (mode "w:gz") and to read it back. Writing gzips at level 1
    instead of tarfile's default 9: DIET's weights are floats, which level 9 shrank by a few
    per cent more for 4 s of every training and fine-tune (py-spy). Reading is unchanged."""

    @staticmethod
    def open(name: Any = None, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        from tarsafe import TarSafe

        if mode == "w:gz":
            kwargs.setdefault("compresslevel", 1)
        return TarSafe.open(name, mode, *args, **kwargs)


def install_archive_adaptation() -> None:
    import rasa.engine.storage.local_model_storage as storage

    replace(storage, "TarSafe", FastTarSafe)


# 3. The start-up check


def tracker_store_problem(store: TrackerStore, configured: EndpointConfig | None) -> str | None:
    """Why `store` is not the tracker store the endpoints file configures, or None.

    Rasa 3.6 replaces a custom store it cannot import (a typo, or any ImportError raised
    inside the module) with an InMemoryTrackerStore and only warns (RasaHQ/rasa#3867, #6851,
    #8148): the assistant answers and nothing is logged. The import is tried again here, so
    the error that Rasa swallowed is the one reported.
    """
    wanted = configured.type if configured is not None else None
    if not wanted:
        return None
    in_use = innermost_store(store)
    if wanted.lower() in BUILTIN_TRACKER_STORES:
        if isinstance(in_use, InMemoryTrackerStore):
            return f"the endpoints file names the {wanted!r} tracker store, Rasa uses memory"
        return None
    try:
        wanted_class = class_from_module_path(wanted)
    except (ImportError, AttributeError) as error:
        return f"the tracker store {wanted!r} cannot be imported ({error!r}); Rasa uses memory"
    if not isinstance(in_use, wanted_class):
        return f"the endpoints file names {wanted!r}, Rasa uses {type(in_use).__name__}"
    return None


async def check_tracker_store_on_start(arguments: argparse.Namespace, app: Any, _: Any) -> None:
    """A Sanic `after_server_start` listener: the agent is loaded (before_server_start) and
    nothing has been answered yet. Stops the server when its store is not the configured one."""
    endpoints = AvailableEndpoints.read_endpoints(arguments.endpoints)
    store = app.ctx.agent.tracker_store
    problem = tracker_store_problem(store, endpoints.tracker_store)
    if problem is not None:
        logger.critical("Stopping: %s", problem)
        raise TrackerStoreNotInUse(f"error: {problem}: the conversation log would be lost")
    logger.info("Tracker store checked: %s", type(innermost_store(store)).__name__)


# 9. The conversation log's retention


async def start_purging(app: Any, _: Any) -> None:
    """A Sanic `after_server_start` listener: while the server runs, the conversation log
    deletes what is past its retention period, now and every LOG_PURGE_INTERVAL_MINUTES (0:
    never). Rasa 3.6 keeps every conversation for ever (its retention and deletion are Rasa
    Pro's). Every instance runs it; one purges at a time (bot.tracking.retention)."""
    minutes = get_settings().privacy.purge_interval_minutes
    store = innermost_store(app.ctx.agent.tracker_store)
    if minutes == 0 or not isinstance(store, MaskingTrackerStore):
        return
    app.ctx.log_purge = asyncio.create_task(store.purge_periodically(minutes * 60.0))
    logger.info("The conversation log is purged every %d minute(s)", minutes)


async def stop_purging(app: Any, _: Any) -> None:
    """`before_server_stop`: the purge task ends (a batch already running finishes)."""
    task = getattr(app.ctx, "log_purge", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# 10. Loading a model while answering


async def load_agent_in_a_thread(*args: Any, **kwargs: Any) -> Agent:
    """rasa.server._load_agent (what PUT /model awaits), run to its end in a worker thread
    with an event loop of its own.

    Rasa 3.6's PUT /model is a coroutine, but the load inside it (`Agent.load_model`:
    unpacking the archive, building the graph, TensorFlow's weights) is synchronous, on the
    server's event loop: every conversation of the instance stops until the new model is in
    (7.6 s here; a message sent meanwhile waited 8.2 s). RasaHQ/rasa#3910 ("http endpoints
    become unresponsive while nlu model is updating", closed unfixed) reports the same for
    PUT /model and model pulling. Here the loop keeps answering with the old model while the
    new one loads, and the handler then swaps them as stock Rasa does
    (keeping the lock store, so no conversation is handled twice at once).
    """
    original = _original(rasa.server, "_load_agent")
    agent: Agent = await asyncio.to_thread(asyncio.run, original(*args, **kwargs))
    return agent


# 11. What an action call sends


def action_call_with_this_turn(
    self: RemoteAction, tracker: DialogueStateTracker, domain: Domain
) -> dict[str, Any]:
    """RemoteAction._action_call_format, with the tracker's events from the latest user
    message on instead of all of them.

    Rasa 3.6 serialises every event of the session into every action call
    (`current_state(EventVerbosity.ALL)`), and the action server parses them back into a
    Tracker: a cost that grows with the conversation (RasaHQ/rasa#6334). Our actions read
    the latest message and slots, which the state carries whatever the verbosity; the
    slots, latest message, active loop and latest action are still the whole tracker's.
    """
    from rasa.shared.core.trackers import EventVerbosity

    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in this_turn(tracker)]
    result = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
        self.name()
    ):
        result["domain"] = domain.as_dict()
    return result


def this_turn(tracker: DialogueStateTracker) -> list[Event]:
    """The events from the latest user message on (all of them if there is none)."""
    events: list[Event] = []
    for event in reversed(tracker.events):
        events.append(event)
        if isinstance(event, UserUttered):
            break
    events.reverse()
    return events


# 12. The conversation's message limit


def limit_reply(limit: int) -> str:
    return (
        f"Sorry, this conversation has reached its limit of {limit:,} messages, so I can't "
        "answer more in it. Please start a new conversation to ask something else."
    )


async def handle_message_within_limit(
    self: MessageProcessor, message: UserMessage
) -> list[dict[str, Any]] | None:
    """MessageProcessor.handle_message (with log_message's body inlined), but a session that
    has had CONVERSATION_MESSAGE_LIMIT messages gets a polite reply, and neither NLU nor the
    log sees the message.

    Stock Rasa lets one conversation grow without end (and with it the log and each turn's
    work): a script posting into one conversation would never stop costing more. The count
    is the session's, carried across the sessions its turns end (13), so it starts again
    only after an idle hour."""
    tracker = await self.fetch_tracker_and_update_session(
        message.sender_id, message.output_channel, message.metadata
    )
    limit = get_settings().serving.conversation_message_limit
    if messages_in_session(tracker) >= limit:
        logger.info("A conversation reached its limit of %d messages", limit)
        await message.output_channel.send_response(message.sender_id, {"text": limit_reply(limit)})
        return _collected(message)
    await self._handle_message_with_tracker(message, tracker)
    if self.model_metadata.training_type == TrainingType.NLU:
        await self.save_tracker(tracker)
        rasa.shared.utils.io.raise_warning(
            "No core model. Skipping action prediction and execution.", docs=DOCS_URL_POLICIES
        )
        return None
    tracker = await self.run_action_extract_slots(message.output_channel, tracker)
    await self._run_prediction_loop(message.output_channel, tracker)
    await self.run_anonymization_pipeline(tracker)
    await self.save_tracker(tracker)
    return _collected(message)


def _collected(message: UserMessage) -> list[dict[str, Any]] | None:
    if isinstance(message.output_channel, CollectingOutputChannel):
        return message.output_channel.messages
    return None


# 13 and 14. Sessions bounded by turns


# On the SessionStarted of a session that 13 started: the messages of the sessions before it
# since the conversation was last idle, so the limit (12) counts across them.
MESSAGES_BEFORE = "messages_before"


def turns_in_session(tracker: DialogueStateTracker) -> int:
    """The user messages since the latest session start (the tracker holds that session)."""
    return _session_count(tracker)[0]


def messages_in_session(tracker: DialogueStateTracker) -> int:
    """The user messages since the conversation was last idle for a session's expiry: this
    session's, and those its start carried over."""
    turns, start = _session_count(tracker)
    before = (start.metadata or {}).get(MESSAGES_BEFORE, 0) if start is not None else 0
    return turns + (before if isinstance(before, int) else 0)


def _session_count(tracker: DialogueStateTracker) -> tuple[int, SessionStarted | None]:
    turns = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            return turns, event
        turns += isinstance(event, UserUttered)
    return turns, None


async def update_session_by_time_or_turns(
    self: MessageProcessor,
    tracker: DialogueStateTracker,
    output_channel: Any,
    metadata: dict[str, Any] | None = None,
) -> None:
    """MessageProcessor._update_tracker_session, and a new session also after
    SESSION_MAX_TURNS messages, unless a loop (the two-stage fallback's question) is active.

    Rasa 3.6 ends a session only after an idle period, so the tracker Rasa reads, replays
    and hands every policy (which featurise every turn of it: RasaHQ/rasa#6334) grows with
    the conversation, and each message costs more than the one before. A new session is
    what an idle hour already gives: the slots (role, topic) are carried over, so "they"
    still means the role asked about; every event stays in the log."""
    if (
        tracker.active_loop_name is None
        and turns_in_session(tracker) >= get_settings().serving.session_max_turns
        and not self._has_session_expired(tracker)
    ):
        logger.debug("Starting a new session for %s after its turns", tracker.sender_id)
        before = messages_in_session(tracker)
        await self._run_action(
            action=self._get_action(ACTION_SESSION_START_NAME),
            tracker=tracker,
            output_channel=output_channel,
            nlg=self.nlg,
            prediction=PolicyPrediction.for_action_name(self.domain, ACTION_SESSION_START_NAME),
        )
        _, start = _session_count(tracker)
        if start is not None:  # the one just started: stored with its count
            start.metadata = {**(start.metadata or {}), MESSAGES_BEFORE: before}
        return
    await _original(MessageProcessor, "_update_tracker_session")(
        self, tracker, output_channel, metadata
    )


def latest_slot_values(tracker: DialogueStateTracker) -> list[SlotSet]:
    """ActionSessionStart._slot_set_events_from_tracker, with one SlotSet per slot: the
    latest of the session's (key, value and metadata), in the order they were last set.

    Rasa 3.6 carries every SlotSet of the ending session into the new one, those it carried
    in included, so with sessions bounded by turns each session would start with more of
    them than the last. The slots' values after the new session start are the same."""
    latest: dict[str, SlotSet] = {}
    for event in tracker.applied_events():
        if isinstance(event, SlotSet):
            latest.pop(event.key, None)
            latest[event.key] = SlotSet(key=event.key, value=event.value, metadata=event.metadata)
    return list(latest.values())


_LATEST_SLOT_VALUES = staticmethod(latest_slot_values)


hookimpl = pluggy.HookimplMarker("rasa")


class StartupCheck:
    """A Rasa plugin: `rasa run` and `rasa shell` get the tracker store check and the log's
    purge as server listeners (rasa.core.run.serve_application's `server_listeners`, which
    Rasa's command line never sets). A plugin hook, not a patch: Rasa calls
    `configure_commandline` with the parsed arguments before it runs the command."""

    @hookimpl
    def configure_commandline(self, cmdline_arguments: argparse.Namespace) -> None:
        import rasa.cli.run
        import rasa.cli.shell

        if getattr(cmdline_arguments, "func", None) not in (rasa.cli.run.run, rasa.cli.shell.shell):
            return
        listeners = list(getattr(cmdline_arguments, "server_listeners", None) or [])
        check = partial(check_tracker_store_on_start, cmdline_arguments)
        listeners.append((check, "after_server_start"))
        listeners.append((start_purging, "after_server_start"))
        listeners.append((stop_purging, "before_server_stop"))
        cmdline_arguments.server_listeners = listeners


STARTUP_CHECK = StartupCheck()


# Installing


def check_version() -> None:
    if rasa.__version__ != SUPPORTED_VERSION:
        raise RasaIncompatible(
            f"bot/rasa_compat.py adapts Rasa {SUPPORTED_VERSION}, not {rasa.__version__}: "
            "check each adaptation against the new Rasa before changing the version"
        )


# The upstream code each adaptation replaces (replace) or relies on without replacing
# (RELIED_ON), by where it lives: the first 16 hex digits of the SHA-256 of its source in the
# pinned versions. A release that changes one body fails at start-up, naming the file to read
# again; after reading it, adapt the code and record the new fingerprint (fingerprint()).
UPSTREAM = {
    "rasa.core.actions.action.RemoteAction.run": "ccabf6f1160d527a",  # 1
    "rasa.core.agent.Agent._create_tracker_store": "97499b594b45581b",  # 2
    "rasa.core.channels.console._print_bot_output": "6b153a1d7b65276d",  # 4
    "rasa.core.channels.console.CmdlineInput": "e11a81f40e4d0c0a",  # 4
    "rasa.core.actions.action.RemoteAction._validate_action_result": "f8cdb4be68123961",  # 5
    "rasa.utils.tensorflow.models.RasaModel.load": "84fd81c0fdd01a80",  # 6
    "keras.engine.training.Model.fit": "d5c5f11ef88179e8",  # 7
    "rasa.engine.storage.local_model_storage.TarSafe": "3cf32f17dfb9ffbc",  # 8
    "rasa.server._load_agent": "a9f77df6bc59de8e",  # 10
    "rasa.core.actions.action.RemoteAction._action_call_format": "428795b944f22edb",  # 11
    "rasa.core.processor.MessageProcessor.handle_message": "0c41d4780d2d4676",  # 12
    "rasa.core.processor.MessageProcessor._update_tracker_session": "b0d44217b5ca28ba",  # 13
    # 14
    "rasa.core.actions.action.ActionSessionStart._slot_set_events_from_tracker": "d023605fda20a739",
    # What the project's own classes rely on without overriding it: bot.tracking.store's
    # innermost_store reads the wrappers' private `_tracker_store`, set in their __init__;
    # bot/channels/rest.py's ClientReplies overrides every method by which
    # CollectingOutputChannel stores a message (a new one would store unaddressed replies).
    "rasa.core.tracker_store.FailSafeTrackerStore.__init__": "a1d5d95d2f96830b",
    "rasa.core.tracker_store.AwaitableTrackerStore.__init__": "8ab8149a9be22d8f",
    "rasa.core.channels.channel.CollectingOutputChannel": "8130b47963b6ed0d",
    # 11 calls _is_selective_domain_enabled; 13 runs the session start as stock does
    # (_has_session_expired, _get_action, _run_action); 14 relies on ActionSessionStart.run
    # building the new session from _slot_set_events_from_tracker.
    "rasa.core.actions.action.RemoteAction._is_selective_domain_enabled": "736c223034a52ec5",
    "rasa.core.processor.MessageProcessor._has_session_expired": "aa0e659a9cfa1f70",
    "rasa.core.processor.MessageProcessor._get_action": "7fbb1ce3c43f24b9",
    "rasa.core.processor.MessageProcessor._run_action": "6d383d0179ef1187",
    "rasa.core.actions.action.ActionSessionStart.run": "c2e7c99a94ca57a5",
    # 12 inlines log_message's body.
    "rasa.core.processor.MessageProcessor.log_message": "f2f8ec66a291d83d",
}


# The upstream code the adaptations, and this project's own classes, rely on (see UPSTREAM).
RELIED_ON = (
    (FailSafeTrackerStore, "__init__"),
    (AwaitableTrackerStore, "__init__"),
    (rasa.core.channels.channel, "CollectingOutputChannel"),
    (RemoteAction, "_is_selective_domain_enabled"),
    (MessageProcessor, "_has_session_expired"),
    (MessageProcessor, "_get_action"),
    (MessageProcessor, "_run_action"),
    (ActionSessionStart, "run"),
    (MessageProcessor, "log_message"),
)


def upstream_name(owner: Any, name: str) -> str:
    if inspect.ismodule(owner):
        return f"{owner.__name__}.{name}"
    return f"{owner.__module__}.{owner.__qualname__}.{name}"


def _defined(code: Any) -> Any:
    """The function or class itself: not its staticmethod, classmethod or decorator wrapper."""
    return inspect.unwrap(getattr(code, "__func__", code))


def fingerprint(code: Any) -> str:
    """The first 16 hex digits of the SHA-256 of a function's or class's source."""
    return hashlib.sha256(inspect.getsource(_defined(code)).encode()).hexdigest()[:16]


def check_upstream(owner: Any, name: str) -> None:
    """`owner.name` is the code UPSTREAM records, or RasaIncompatible names its file."""
    where = upstream_name(owner, name)
    code = vars(owner)[name] if name in vars(owner) else getattr(owner, name)
    if where not in UPSTREAM:
        raise RasaIncompatible(
            f"{where} has no fingerprint in bot/rasa_compat.py's UPSTREAM: read it and record "
            f"rasa_compat.fingerprint() of it ({fingerprint(code)})"
        )
    found = fingerprint(code)
    if found != UPSTREAM[where]:
        path = inspect.getsourcefile(_defined(code))
        raise RasaIncompatible(
            f"{where} in {path} is not the code bot/rasa_compat.py was written against "
            f"(fingerprint {found}, recorded {UPSTREAM[where]}): read it again, adapt "
            "bot/rasa_compat.py and record the new fingerprint"
        )


def replace(owner: Any, name: str, replacement: Any, *, inherited_from: type | None = None) -> None:
    """Set `owner.name` to `replacement`, once; `owner` must define `name` itself, or, with
    `inherited_from`, inherit it unchanged from that class (and `owner` then gets its own)."""
    current = vars(owner).get(name)
    if current is replacement:
        return
    if inherited_from is not None:
        inherited = getattr(inherited_from, name, None)
        if current is not None or inherited is None or getattr(owner, name) is not inherited:
            raise RasaIncompatible(
                f"{owner.__qualname__}.{name} is not {inherited_from.__module__}."
                f"{inherited_from.__qualname__}.{name} in Rasa {rasa.__version__}: "
                "bot/rasa_compat.py cannot adapt it"
            )
        check_upstream(inherited_from, name)
        _originals[(owner, name)] = inherited
        setattr(owner, name, replacement)
        return
    if current is None:
        raise RasaIncompatible(
            f"{getattr(owner, '__qualname__', owner.__name__)}.{name} is not in Rasa "
            f"{rasa.__version__}: bot/rasa_compat.py cannot adapt it"
        )
    check_upstream(owner, name)
    _originals[(owner, name)] = getattr(owner, name)
    setattr(owner, name, replacement)


_TRACKER_STORE_THAT_RAISES = staticmethod(tracker_store_that_raises)


def install() -> None:
    """Every adaptation but the shell's; installing twice changes nothing."""
    check_version()
    for owner, name in RELIED_ON:
        check_upstream(owner, name)
    install_tensorflow_adaptations()
    install_archive_adaptation()
    replace(RemoteAction, "run", run_or_apologise)
    replace(RemoteAction, "_validate_action_result", validate_action_result)
    replace(Agent, "_create_tracker_store", _TRACKER_STORE_THAT_RAISES)
    replace(rasa.server, "_load_agent", load_agent_in_a_thread)
    replace(RemoteAction, "_action_call_format", action_call_with_this_turn)
    replace(MessageProcessor, "handle_message", handle_message_within_limit)
    replace(MessageProcessor, "_update_tracker_session", update_session_by_time_or_turns)
    replace(ActionSessionStart, "_slot_set_events_from_tracker", _LATEST_SLOT_VALUES)
    manager = plugin_manager()
    if not manager.is_registered(STARTUP_CHECK):
        manager.register(STARTUP_CHECK)


# 4. The shell


def print_with_sources(message: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    """console._print_bot_output, given the text followed by the reply's sources."""
    from bot.channels.shell import with_sources_as_text

    return _original(console, "_print_bot_output")(with_sources_as_text(message), *args, **kwargs)


def install_shell() -> None:
    """The server's adaptations, plus the shell's: our REST channel under the name "cmdline"
    and a printer that shows sources (see bot/channels/shell.py for why)."""
    from bot.channels.shell import ShellInput

    install()
    channels = rasa.core.channels.BUILTIN_CHANNELS
    if channels.get("cmdline") is not ShellInput:
        if channels.get("cmdline") is not console.CmdlineInput:
            raise RasaIncompatible(
                f"Rasa {rasa.__version__} has no stock 'cmdline' channel to replace"
            )
        check_upstream(console, "CmdlineInput")
        channels["cmdline"] = ShellInput
    replace(console, "_print_bot_output", print_with_sources)
