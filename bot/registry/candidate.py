"""`python -m bot model candidate`: train a candidate model from data/ plus the console's labels.

Rasa trains in a process of its own (bot.rasa_command), never inside the console or a Rasa
server; this process reads its output, writes it to the candidate's log, and keeps the
candidate's row up to date (the component being trained, DIET's epochs), which the console's
Models page shows. One candidate at a time: a lock file in the registry, held while training
(the operating system lets go of it if the process dies); a candidate left "training" by a
process that died is marked failed by the next one, and by the console.

The console's labels are every labelled message of the log as the export makes them (not
already in data/nlu/, not a held-out NLU example), and, so that a comparison measures what a
new user gets, none whose text is a message of the sets the comparison runs
(tests/conversations, tests/eval). All of them, not only those made since the last promotion:
a label promoted once stays in the next candidate until it is moved into data/nlu/. The count
made since the last promotion is recorded and shown.

The command's last line on standard output is the candidate's id, failed or not.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TextIO

import yaml

from bot import evaluation, serve, training
from bot.db import now, utcnow
from bot.registry.records import FAILED, READY, TRAINING, Registry, sha256
from bot.review.export import build_export, normalise
from bot.settings import PROJECT_ROOT, Settings
from bot.store import SqlRoleStore

EVAL_SETS_DIR = PROJECT_ROOT / "tests" / "eval"
# How often the row's progress is written while Rasa trains.
PROGRESS_EVERY_S = 1.0
_COMPONENT = re.compile(r"Starting to train component '([^']+)'")
_EPOCHS = re.compile(r"Epochs:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)")


class CandidateError(RuntimeError):
    """A candidate cannot be trained now (another is training, no live model to fine-tune)."""


@dataclass(frozen=True)
class Options:
    by: str
    finetune: bool = False
    # DIET's epochs instead of config.yml's (from scratch only): for quick tries and tests.
    epochs: int | None = None
    # Given by the console, so that it can show the candidate's page before the row exists.
    model_id: str | None = None


def new_id() -> str:
    """A sortable id that says when: 20261203-101502-3f9a."""
    return now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


ID_PATTERN = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}")


def is_running(host: str | None, pid: int | None) -> bool:
    """Whether a job's recorded process is still there (one on another machine: assumed so)."""
    if pid is None:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap(registry: Registry) -> None:
    """A candidate still "training" whose process is gone has failed; so has a comparison."""
    for record in registry.models():
        if record.status == TRAINING and not is_running(record.host, record.pid):
            registry.update_model(
                record.id,
                status=FAILED,
                finished_at=utcnow(),
                error="the training process stopped before it finished (killed or crashed)",
            )
        if record.compare_status == "running" and not is_running(record.host, record.compare_pid):
            registry.update_model(
                record.id,
                compare_status=FAILED,
                compare_error="the comparison's process stopped before it finished",
            )


def held_out_texts(
    cases_dir: Path = evaluation.CASES_DIR, eval_dir: Path = EVAL_SETS_DIR
) -> set[str]:
    """Every message of the sets a comparison runs, normalised as the export compares."""
    texts: set[str] = set()
    for case in evaluation.load_cases(cases_dir):
        texts |= {normalise(t) for t in case.turns}
    for path in sorted(eval_dir.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in [*(document.get("cases") or []), *(document.get("messages") or [])]:
            if isinstance(item, dict):
                texts |= {normalise(t) for t in item.get("turns") or [] if isinstance(t, str)}
                if isinstance(item.get("text"), str):
                    texts.add(normalise(item["text"]))
    return texts


@dataclass(frozen=True)
class Labels:
    yaml: str
    count: int
    held_out: int


def console_labels(registry: Registry) -> Labels:
    """The console's labels as Rasa NLU YAML, without the comparison sets' messages."""
    from bot.review.database import ConversationLog
    from bot.review.labels_page import labelled as labelled_in

    held = held_out_texts()
    labelled = labelled_in(ConversationLog(registry.engine))
    kept = [item for item in labelled if normalise(item.text) not in held]
    found = build_export(kept)
    return Labels(found.yaml(), found.count, len(labelled) - len(kept))


def diet_config(epochs: int, target: Path) -> Path:
    """config.yml with DIET's epochs changed, written to `target`."""
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component.get("name") == "DIETClassifier":
            component["epochs"] = epochs
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return target


def rasa_train_command(
    model_id: str, registry_dir: Path, data: Iterable[Path], config: Path, finetune: Path | None
) -> list[str]:
    command = [sys.executable, "-m", "bot.rasa_command", "train", "--data"]
    command += [str(p) for p in data]
    command += ["--config", str(config), "--domain", str(PROJECT_ROOT / "domain.yml")]
    command += ["--out", str(registry_dir), "--fixed-model-name", model_id]
    if finetune is not None:
        fraction = f"{training.FINETUNE_EPOCH_FRACTION}"
        command += ["--finetune", str(finetune), "--epoch-fraction", fraction]
    return command


class Progress:
    """Rasa's output, line by line (tqdm redraws with carriage returns), to the log file and,
    a few times a second at most, to the candidate's row."""

    def __init__(self, registry: Registry, model_id: str, log: IO[bytes], out: TextIO) -> None:
        self.registry = registry
        self.model_id = model_id
        self.log = log
        self.out = out
        self.stage = ""
        self.progress: float | None = None
        self.written = 0.0
        self.lines: list[str] = []

    def feed(self, chunk: bytes) -> None:
        self.log.write(chunk)
        self.log.flush()
        for line in re.split(r"[\r\n]+", chunk.decode("utf-8", "replace")):
            self.line(line.strip())

    def line(self, line: str) -> None:
        if not line:
            return
        self.lines = [*self.lines[-40:], line]
        if match := _COMPONENT.search(line):
            self.set(f"training {match.group(1)}", None, say=True)
        elif match := _EPOCHS.search(line):
            done, total = int(match.group(1)), int(match.group(2))
            self.set(f"training DIETClassifier: epoch {done} of {total}", done / total)

    def set(self, stage: str, progress: float | None, say: bool = False) -> None:
        self.stage, self.progress = stage, progress
        if say:
            print(f"  {stage}", file=self.out, flush=True)
        if say or time.monotonic() - self.written >= PROGRESS_EVERY_S:
            self.written = time.monotonic()
            self.registry.update_model(self.model_id, stage=stage[:200], progress=progress)

    def error(self) -> str:
        """What went wrong, from the end of Rasa's output (its error, not its progress bars)."""
        useful = [line for line in self.lines if not _EPOCHS.search(line)]
        errors = [line for line in useful if re.search(r"error|exception|invalid", line, re.I)]
        return "\n".join((errors or useful)[-8:]) or "Rasa stopped without saying why"


def _run(command: list[str], progress: Progress) -> int:
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=serve.base_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = process.stdout
    assert output is not None

    def read() -> None:
        for chunk in iter(lambda: os.read(output.fileno(), 8192), b""):
            progress.feed(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = process.wait()
    except BaseException:
        process.terminate()
        process.wait()
        raise
    reader.join(timeout=10)
    return code


def train(settings: Settings, options: Options, out: TextIO) -> tuple[int, str | None]:
    """Train one candidate; returns the exit code and its id (None if none was started)."""
    registry = Registry.from_settings(settings)
    registry.create_tables()
    paths = registry.paths
    paths.registry.mkdir(parents=True, exist_ok=True)
    with open(paths.registry / ".candidate.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = registry.training()
            who = f" ({running.id}, started by {running.created_by})" if running else ""
            raise CandidateError(
                f"a candidate is already being trained{who}: one at a time"
            ) from None
        reap(registry)
        return _train(registry, settings, options, out)


def _train(
    registry: Registry, settings: Settings, options: Options, out: TextIO
) -> tuple[int, str | None]:
    paths = registry.paths
    live = registry.live()
    if options.finetune and not live.path.exists():
        raise CandidateError(f"there is no live model to fine-tune ({live.path}): run make train")
    model_id = options.model_id or new_id()
    if not ID_PATTERN.fullmatch(model_id) or registry.model(model_id) is not None:
        raise CandidateError(f"{model_id!r} is not a new candidate id")
    store = SqlRoleStore(settings.role_store_url)
    labels = console_labels(registry)
    new = registry.labels_since_promotion()
    registry.add_model(
        model_id,
        origin="candidate",
        status=TRAINING,
        created_by=options.by,
        finetuned_from=(live.id or live.path.name) if options.finetune else None,
        labels=labels.count,
        new_labels=new,
        stage="preparing the training data",
        pid=os.getpid(),
        host=socket.gethostname(),
    )
    print(
        f"Training candidate {model_id} from data/ and {labels.count} console label(s) "
        f"({new} labelled since the last promotion; {labels.held_out} left out: messages of "
        "the comparison's sets), "
        + (f"fine-tuning the live model {live.name}" if options.finetune else "from scratch")
        + " ...",
        file=out,
        flush=True,
    )
    workdir = paths.workdir(model_id)
    workdir.mkdir(parents=True, exist_ok=True)
    labels_file = workdir / "console_labels.yml"
    labels_file.write_text(labels.yaml, encoding="utf-8")
    log_path = workdir / "training.log"
    code = 1
    try:
        from bot import nlp

        if not (nlp.PIPELINE_DIR / "meta.json").exists():
            registry.update_model(model_id, stage="building the spaCy pipeline")
            nlp.build(store)
        inputs = training.fingerprint(store)
        config = PROJECT_ROOT / "config.yml"
        if options.epochs is not None:
            config = diet_config(options.epochs, workdir / "config.yml")
        data = [PROJECT_ROOT / "data"]
        if labels.count:
            data.append(labels_file)
        command = rasa_train_command(
            model_id, paths.registry, data, config, live.path if options.finetune else None
        )
        with log_path.open("wb") as log:
            progress = Progress(registry, model_id, log, out)
            progress.set("starting Rasa", None, say=True)
            code = _run(command, progress)
        archive = paths.archive(model_id)
        if code == 0 and archive.exists():
            recorded = training.Fingerprint.read(paths.live_fingerprint)
            finetunes = (recorded.finetunes + 1 if recorded else 1) if options.finetune else 0
            paths.fingerprint(model_id).write_text(replace(inputs, finetunes=finetunes).dumps())
            registry.update_model(
                model_id,
                status=READY,
                stage="trained",
                progress=1.0,
                finished_at=utcnow(),
                sha256=sha256(archive),
            )
            print(f"Trained {archive}", file=out)
            return 0, model_id
        code = code or 1
        error = f"Rasa's training failed (exit {code}): {progress.error()}"
        registry.update_model(model_id, status=FAILED, finished_at=utcnow(), error=error)
        print(f"error: {error}\n(the whole output: {log_path})", file=sys.stderr)
        return code, model_id
    except Exception as exc:
        registry.update_model(
            model_id, status=FAILED, finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"
        )
        raise
    finally:
        store.engine.dispose()
        current = registry.model(model_id)
        if current is not None and current.status == TRAINING:
            registry.update_model(
                model_id,
                status=FAILED,
                finished_at=utcnow(),
                error="the training was stopped before it finished",
            )


def spawn(
    arguments: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m bot ARGUMENTS` in a session of its own, its output to `log`: how the console
    starts a training, a comparison or a promotion without running it itself."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *arguments],
            cwd=PROJECT_ROOT,
            env={**serve.base_env(), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
