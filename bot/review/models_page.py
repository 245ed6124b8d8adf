"""The console's Models pages: the live model and the instances running it, candidates being
trained (with their progress), their comparison with the live model, promotion and rollback.

The console never trains, compares or switches a model itself: each button starts the
`python -m bot model ...` command in a process of its own (bot.registry.candidate.spawn),
which records what it does in the registry's tables; the pages read them, and reload every
few seconds while something runs (a meta refresh: the pages run no script).
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.registry import candidate, switch
from bot.registry.records import (
    FAILED,
    READY,
    RUNNING,
    TRAINING,
    ModelRecord,
    Paths,
    Registry,
)
from bot.review import console
from bot.review.console import in_thread
from bot.settings import Settings

REGISTRY: web.AppKey[Registry] = web.AppKey("registry", Registry)
JOBS: web.AppKey[dict[str, subprocess.Popen[bytes]]] = web.AppKey("model_jobs", dict)
ENV: web.AppKey[dict[str, str]] = web.AppKey("model_env", dict)
# Held from a button's check ("one at a time") to the command it starts: the handlers run in
# the thread pool (console.in_thread), so two clicks could otherwise both pass the check.
STARTING: web.AppKey[Any] = web.AppKey("model_starting", object)
MODEL_ID = r"{id:[0-9a-z][0-9a-z-]{0,39}}"
LOG_LINES = 25
REFRESH_S = 3
WATCH = "watch"


def _reloading(request: web.Request, busy: bool) -> dict[str, Any]:
    """A page reloads itself (every REFRESH_S) only when the trainer asked for it (?watch=1),
    and says how to stop: a timed reload nobody asked for fails WCAG 2.2.1 (axe's
    meta-refresh rule). The pages run no script, so a meta refresh it is."""
    watching = busy and request.query.get(WATCH) == "1"
    return {"busy": busy, "refresh": REFRESH_S if watching else None, "refresh_s": REFRESH_S}


def install(app: web.Application, settings: Settings) -> None:
    """Add the pages; the registry shares the console's database (the conversation log)."""
    app[REGISTRY] = Registry(app[console.LOG].engine, Paths.from_settings(settings))
    app[JOBS] = {}
    app[STARTING] = threading.Lock()
    # What the commands the pages start need to find the same log and models.
    app[ENV] = {
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "ROLE_STORE_URL": settings.role_store_url,
        "MODELS_DIR": str(settings.models_dir),
    }
    app.add_routes(
        [
            web.get("/models", models_list, name="models"),
            web.post("/models/candidate", start_candidate, name="start_candidate"),
            web.get(f"/models/{MODEL_ID}", model_page, name="model"),
            web.post(f"/models/{MODEL_ID}/compare", start_compare, name="compare"),
            web.post(f"/models/{MODEL_ID}/promote", start_promote, name="promote"),
            web.post("/models/rollback", start_rollback, name="rollback"),
        ]
    )


def _reap(request: web.Request) -> None:
    """Collect the commands that have ended (no zombies), and mark dead jobs failed."""
    for job in list(request.app[JOBS].values()):  # a copy: another thread may start one
        job.poll()
    candidate.reap(request.app[REGISTRY])


def _job_ended(request: web.Request, name: str) -> bool:
    job = request.app[JOBS].get(name)
    return job is not None and job.poll() is not None


def _start(
    request: web.Request, name: str, arguments: list[str], log_name: str
) -> subprocess.Popen[bytes]:
    registry: Registry = request.app[REGISTRY]
    log = registry.paths.workdir(name) / log_name
    job = candidate.spawn(arguments, log, request.app[ENV])
    request.app[JOBS][name] = job
    return job


def log_tail(text: str, lines: int = LOG_LINES) -> str:
    """The end of a log, each progress bar's last state only (tqdm redraws with \\r)."""
    shown = [line.rsplit("\r", 1)[-1].rstrip() for line in text.splitlines()]
    return "\n".join([line for line in shown if line.strip()][-lines:])


@dataclass(frozen=True)
class Job:
    """What a page says about something running: its label, stage and progress."""

    label: str
    stage: str
    progress: float | None = None


SWITCH = "switch"


def _running(record: ModelRecord) -> Job | None:
    if record.status == TRAINING:
        return Job("Training", record.stage or "starting", record.progress)
    if record.compare_status == RUNNING:
        return Job("Comparing with the live model", record.compare_stage or "starting")
    return None


async def models_list(request: web.Request) -> web.Response:
    return await in_thread(_models_list, request)


def _models_list(request: web.Request) -> web.Response:
    _reap(request)
    registry: Registry = request.app[REGISTRY]
    live = registry.live()
    models = registry.models()
    busy = any(_running(m) for m in models) or registry.running_switch() is not None
    return console.render(
        request,
        "models.html",
        live=live,
        previous=registry.rollback_target(),
        instances=registry.instances(),
        models=models,
        training=registry.training(),
        new_labels=registry.labels_since_promotion(),
        switches=registry.switches(20),
        running=_running,
        **_reloading(request, busy),
        error=request.query.get("error", "")[:300],
    )


async def start_candidate(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    return await in_thread(_starting, _candidate, request, form.get("finetune") == "1")


def _candidate(request: web.Request, finetune: bool) -> web.StreamResponse:
    _reap(request)
    registry: Registry = request.app[REGISTRY]
    training = registry.training()
    if training is not None:
        return _refused(
            request,
            f"Candidate {training.id} is being trained (started by {training.created_by}): "
            "one at a time.",
        )
    model_id = candidate.new_id()
    arguments = ["model", "candidate", "--by", request["user"].username, "--id", model_id]
    if finetune:
        arguments.append("--finetune")
    _start(request, model_id, arguments, "console.log")
    raise web.HTTPSeeOther(f"/models/{model_id}")


def _refused(request: web.Request, reason: str, status: int = 409) -> web.Response:
    return console.render(request, "refused.html", status=status, reason=reason)


def _log(paths: Paths, model_id: str, name: str) -> str:
    try:
        return log_tail((paths.workdir(model_id) / name).read_text("utf-8", "replace"))
    except FileNotFoundError:
        return ""


async def model_page(request: web.Request) -> web.Response:
    return await in_thread(_model_page, request)


def _model_page(request: web.Request) -> web.Response:
    _reap(request)
    registry: Registry = request.app[REGISTRY]
    model_id = request.match_info["id"]
    record = registry.model(model_id)
    if record is None:
        if model_id in request.app[JOBS]:
            ended = _job_ended(request, model_id)
            return console.render(
                request,
                "model_starting.html",
                model_id=model_id,
                ended=ended,
                log=_log(registry.paths, model_id, "console.log"),
                **_reloading(request, not ended),
            )
        raise web.HTTPNotFound(text="no such model")
    live = registry.live()
    job = _running(record)
    return console.render(
        request,
        "model.html",
        record=record,
        live=live,
        job=job,
        comparison=record.comparison_data(),
        verdict=switch.promotion_problem(record, live),
        training_log=_log(registry.paths, model_id, "training.log"),
        compare_log=_log(registry.paths, model_id, "compare.log"),
        **_reloading(request, bool(job or registry.running_switch())),
        failed=FAILED,
    )


async def start_compare(request: web.Request) -> web.StreamResponse:
    return await in_thread(_starting, _compare, request)


def _starting(
    start: Callable[..., web.StreamResponse], request: web.Request, *args: Any
) -> web.StreamResponse:
    """`start(request, *args)` holding STARTING: its check and the command it starts are one."""
    with request.app[STARTING]:
        return start(request, *args)


def _compare(request: web.Request) -> web.StreamResponse:
    _reap(request)
    registry: Registry = request.app[REGISTRY]
    record = registry.model(request.match_info["id"])
    if record is None:
        raise web.HTTPNotFound(text="no such model")
    if record.status != READY:
        return _refused(request, f"{record.id} is {record.status}: only a trained candidate.")
    busy = [m.id for m in registry.models() if m.compare_status == RUNNING]
    if busy:
        return _refused(request, f"{busy[0]} is being compared: one comparison at a time.")
    user = request["user"].username
    job = _start(request, record.id, ["model", "compare", record.id, "--by", user], "compare.log")
    # Shown as running at once, before the command has started and said so itself.
    registry.update_model(
        record.id,
        compare_status=RUNNING,
        compare_stage="starting",
        compare_pid=job.pid,
        host=record.host or socket.gethostname(),
    )
    raise web.HTTPSeeOther(f"/models/{record.id}")


def _switching(request: web.Request) -> web.Response | None:
    running = request.app[REGISTRY].running_switch()
    job = request.app[JOBS].get(SWITCH)
    if running is not None or (job is not None and job.poll() is None):
        return _refused(request, "A promotion or rollback is running: one at a time.")
    return None


async def start_promote(request: web.Request) -> web.StreamResponse:
    return await in_thread(_starting, _promote, request)


def _promote(request: web.Request) -> web.StreamResponse:
    _reap(request)
    registry: Registry = request.app[REGISTRY]
    model_id = request.match_info["id"]
    problem = switch.promotion_problem(registry.model(model_id), registry.live())
    if problem:
        return _refused(request, f"{model_id} cannot be promoted: {problem}.", status=400)
    if (busy := _switching(request)) is not None:
        return busy
    user = request["user"].username
    _start(request, SWITCH, ["model", "promote", model_id, "--by", user], "promote.log")
    raise web.HTTPSeeOther("/models")


async def start_rollback(request: web.Request) -> web.StreamResponse:
    return await in_thread(_starting, _rollback, request)


def _rollback(request: web.Request) -> web.StreamResponse:
    registry: Registry = request.app[REGISTRY]
    if registry.rollback_target() is None:
        return _refused(request, "Nothing to roll back to.", status=400)
    if (busy := _switching(request)) is not None:
        return busy
    _start(request, SWITCH, ["model", "rollback", "--by", request["user"].username], "rollback.log")
    raise web.HTTPSeeOther("/models")
