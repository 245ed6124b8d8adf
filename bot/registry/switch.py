"""`python -m bot model promote CANDIDATE` and `python -m bot model rollback`.

Every running Rasa instance (each registered itself: bot.registry.instances) is told to load
the model with Rasa's own authenticated `PUT /model`, one after the other, and asked what it
runs (`GET /status`) before the next. The token is RASA_API_TOKEN, from the environment (the
instances' and this command's); the API listens on loopback and nginx never routes it. Rasa
loads the new model beside the old one (bot.rasa_compat, adaptation 10) and swaps them, so
an instance answers throughout, and conversations carry on: they live in the tracker store,
not in the model. Behind nginx, every instance but the one switching answers as before.

If an instance refuses, the ones already switched go back to the model they had, and nothing
is recorded as live. When all have switched, the model becomes `careers.tar.gz` (what every
instance starts with, under the lock `make train` takes), the model it replaced is kept in
the registry (a `make train` model is copied there first), and who did it, when, and what
each instance said is recorded: one step back is always possible (`rollback`).

A promotion needs the candidate's comparison with the live model as it is now, and refuses a
candidate the comparison refused.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TextIO

from bot.registry.candidate import is_running
from bot.registry.records import (
    DONE,
    FAILED,
    LIVE,
    PROMOTE,
    READY,
    RETIRED,
    ROLLBACK,
    InstanceRecord,
    Live,
    ModelRecord,
    Registry,
    sha256,
)
from bot.settings import Settings

# Loading a model takes seconds (7 here); a busy machine, more.
LOAD_TIMEOUT_S = 600


class SwitchError(RuntimeError):
    """The switch was refused or failed: the message says why."""


def promotion_problem(record: ModelRecord | None, live: Live) -> str:
    """Why `record` cannot be promoted now ("" if it can)."""
    if record is None:
        return "there is no such model"
    if record.status not in (READY, RETIRED):
        return f"it is {record.status}, not a trained candidate"
    if live.id == record.id:
        return "it is the live model already"
    if record.compare_status != DONE or record.promotable is None:
        return "compare it with the live model first (python -m bot model compare)"
    if record.compared_with != (live.id or live.sha256):
        return "the live model has changed since the comparison: compare again"
    if not record.promotable:
        return "the comparison refused it: " + "; ".join(record.refusals)
    return ""


@dataclass(frozen=True)
class Answer:
    instance: InstanceRecord
    model_file: str


def _request(url: str, method: str, token: str, body: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(
        f"{url}?token={token}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=LOAD_TIMEOUT_S) as response:
        return bytes(response.read())


def load(instance: InstanceRecord, token: str, archive: Path) -> Answer:
    """Have one instance load `archive`, and check that it runs it."""
    try:
        _request(f"{instance.url}/model", "PUT", token, {"model_file": str(archive)})
        status = json.loads(_request(f"{instance.url}/status", "GET", token))
    except urllib.error.HTTPError as error:
        said = error.read().decode("utf-8", "replace")[:300]
        raise SwitchError(f"{instance.url} refused the model ({error.code}): {said}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SwitchError(f"{instance.url} did not answer: {error}") from None
    if status.get("model_file") != archive.name:
        raise SwitchError(f"{instance.url} runs {status.get('model_file')!r}, not {archive.name}")
    return Answer(instance, archive.name)


def reachable(registry: Registry) -> list[InstanceRecord]:
    """The registered instances still running; the rows of those gone are removed."""
    found = []
    for instance in registry.instances():
        if instance.host == socket.gethostname() and not is_running(instance.host, instance.pid):
            registry.remove_instance(instance.id)
            continue
        found.append(instance)
    return found


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SwitchError("another promotion or rollback is running: one at a time") from None
        yield


def _keep_live(registry: Registry, live: Live, by: str) -> str:
    """The live model's id in the registry: a `make train` model is copied in first."""
    if live.id is not None:
        return live.id
    if not live.path.exists():
        raise SwitchError(f"there is no live model at {live.path}: run make train")
    paths = registry.paths
    moment = datetime.fromtimestamp(live.path.stat().st_mtime, timezone.utc)
    model_id = f"trained-{moment:%Y%m%d-%H%M%S}"
    paths.registry.mkdir(parents=True, exist_ok=True)
    shutil.copy2(live.path, paths.archive(model_id))
    if paths.live_fingerprint.exists():
        shutil.copy2(paths.live_fingerprint, paths.fingerprint(model_id))
    if registry.model(model_id) is None:
        registry.add_model(
            model_id,
            origin="trained",
            status=LIVE,
            created_by="make train",
            finished_at=None,
            stage="the live model before the first promotion",
            sha256=live.sha256,
        )
    else:
        registry.update_model(model_id, status=LIVE, sha256=live.sha256)
    return model_id


def _install(registry: Registry, model_id: str) -> None:
    """The model becomes careers.tar.gz (and its fingerprint), atomically, under the lock
    `make train` takes, so a training never reads half a file or overwrites it meanwhile."""
    paths = registry.paths
    with open(paths.training_lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for source, target in (
            (paths.archive(model_id), paths.live),
            (paths.fingerprint(model_id), paths.live_fingerprint),
        ):
            if not source.exists():
                target.unlink(missing_ok=True)
                continue
            draft = target.with_name(f".{target.name}.promoting")
            shutil.copy2(source, draft)
            draft.replace(target)


def switch(registry: Registry, settings: Settings, action: str, target: str, by: str) -> str:
    """Put `target` live on every instance, then in careers.tar.gz; returns what happened."""
    paths = registry.paths
    archive = paths.archive(target)
    if not archive.exists():
        raise SwitchError(f"{archive} is missing: the model cannot be loaded")
    with _lock(paths.registry / ".switch.lock"):
        live = registry.live()
        instances = reachable(registry)
        off = [i.url for i in instances if not i.api]
        if off:
            raise SwitchError(
                f"Rasa's HTTP API is off on {', '.join(off)}: restart it with RASA_API_TOKEN set "
                "(32+ characters) so that it can be switched"
            )
        token = settings.serving.rasa_api_token
        if instances and token is None:
            raise SwitchError("set RASA_API_TOKEN (the running instances' token) to switch them")
        previous = _keep_live(registry, live, by)
        switch_id = registry.start_switch(action, target, previous, by)
        switched: list[Answer] = []
        try:
            for instance in instances:
                switched.append(load(instance, token or "", archive))
        except SwitchError as error:
            back = []
            for answer in switched:
                try:
                    load(answer.instance, token or "", paths.archive(previous))
                    back.append(answer.instance.url)
                except SwitchError as again:
                    back.append(f"{answer.instance.url} NOT put back ({again})")
            detail = f"{error}" + (f"; put back on {previous}: {', '.join(back)}" if back else "")
            registry.finish_switch(switch_id, FAILED, detail)
            raise SwitchError(detail) from None
        _install(registry, target)
        for record in registry.models():
            if record.status == LIVE and record.id != target:
                registry.update_model(record.id, status=RETIRED)
        registry.update_model(target, status=LIVE, sha256=sha256(archive))
        who = ", ".join(a.instance.url for a in switched) or "no instance was running"
        detail = f"{len(switched)} instance(s) switched ({who}); {previous} kept for rollback"
        registry.finish_switch(switch_id, DONE, detail)
        return detail


def promote(settings: Settings, model_id: str, by: str, out: TextIO) -> int:
    registry = Registry.from_settings(settings)
    registry.create_tables()
    problem = promotion_problem(registry.model(model_id), registry.live())
    if problem:
        print(f"error: {model_id} cannot be promoted: {problem}", file=sys.stderr)
        return 1
    return _run(registry, settings, PROMOTE, model_id, by, out)


def rollback(settings: Settings, by: str, out: TextIO) -> int:
    registry = Registry.from_settings(settings)
    registry.create_tables()
    target = registry.rollback_target()
    if target is None:
        print(
            "error: nothing to roll back to: the live model was not made live by a promotion",
            file=sys.stderr,
        )
        return 1
    return _run(registry, settings, ROLLBACK, target, by, out)


def _run(
    registry: Registry, settings: Settings, action: str, target: str, by: str, out: TextIO
) -> int:
    try:
        detail = switch(registry, settings, action, target, by)
    except SwitchError as error:
        print(f"error: the {action} of {target} failed: {error}", file=sys.stderr)
        return 1
    finally:
        registry.engine.dispose()
    done = "Promoted" if action == PROMOTE else "Rolled back to"
    print(f"{done} {target} by {by}: {detail}.", file=out)
    return 0
