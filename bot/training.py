"""`python -m bot train`: rebuild the spaCy pipeline and retrain Rasa only when an input changed.

Rasa fingerprints SpacyNLP by the pipeline's path, not its contents, so a role added to the
store would not retrain on its own; this fingerprint covers the training data, the config,
the domain, the role names and terms in the store, and the locked package versions.

It is kept in two parts: the NLU examples (data/nlu) and everything else. When only the
examples changed since a model trained from scratch, the model is fine-tuned (Rasa's
incremental training: the last model's weights, a third of the epochs) instead of trained
again from nothing, which is what a trainer adding or rewording an example waits for. Anything
else changed, `--force`, or MAX_FINETUNES fine-tunes in a row, and it trains from scratch.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.settings import PROJECT_ROOT
from bot.store import RoleStore

MODEL_NAME = "careers"
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_PATH = MODELS_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_PATH = MODELS_DIR / f"{MODEL_NAME}.fingerprint"
NLU_EXAMPLES = "data/nlu"
TRAINING_INPUTS = ("config.yml", "domain.yml", NLU_EXAMPLES, "data/rules", "data/stories")
# Fine-tunes in a row before training from scratch again, so small drifts do not pile up.
MAX_FINETUNES = 3
FINETUNE_EPOCH_FRACTION = 0.3


@dataclass(frozen=True)
class Fingerprint:
    """What a model was trained from: the NLU examples, and everything else."""

    examples: str
    others: str
    finetunes: int = 0

    def dumps(self) -> str:
        return json.dumps(dataclasses.asdict(self)) + "\n"

    @classmethod
    def read(cls, path: Path = FINGERPRINT_PATH) -> Fingerprint | None:
        """The recorded fingerprint, or None when there is none or it is in an older format."""
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None


def _digest(paths: list[Path], root: Path, extra: bytes = b"") -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    digest.update(extra)
    return digest.hexdigest()


def _files(root: Path, names: Iterable[str]) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        path = root / name
        paths += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return paths


def fingerprint(store: RoleStore, root: Path = PROJECT_ROOT) -> Fingerprint:
    others = [name for name in (*TRAINING_INPUTS, "requirements.lock") if name != NLU_EXAMPLES]
    wordings = [store.role_names(), store.group_names(), store.terms()]
    return Fingerprint(
        examples=_digest(_files(root, [NLU_EXAMPLES]), root),
        others=_digest(_files(root, others), root, json.dumps(wordings, sort_keys=True).encode()),
    )


def plan(store: RoleStore, *, force: bool = False) -> str:
    """What `train` would do now: see `decide`."""
    current, recorded = fingerprint(store), Fingerprint.read()
    return decide(current, recorded, model_exists=MODEL_PATH.exists(), force=force)


def decide(
    current: Fingerprint, recorded: Fingerprint | None, *, model_exists: bool, force: bool
) -> str:
    """ "up to date", "fine-tune" (only the NLU examples changed) or "from scratch"."""
    if force or recorded is None or not model_exists or current.others != recorded.others:
        return "from scratch"
    if current.examples == recorded.examples:
        return "up to date"
    return "fine-tune" if recorded.finetunes < MAX_FINETUNES else "from scratch"


def is_stale(store: RoleStore) -> bool:
    return plan(store) != "up to date"


def train(store: RoleStore, *, force: bool = False, out: TextIO = sys.stdout) -> bool:
    """Train when stale (or forced); return whether a model was trained.

    A second `train` (say `make test` while `make run` trains) waits for the first and then
    finds the model fresh, instead of writing the same files at the same time.
    """
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    with open(MODELS_DIR / ".train.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("Waiting for another training to finish ...", file=out, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _train(store, force=force, out=out)


def _train(store: RoleStore, *, force: bool, out: TextIO) -> bool:
    how = plan(store, force=force)
    if how == "up to date":
        print(f"The model is up to date: {MODEL_PATH.relative_to(PROJECT_ROOT)}", file=out)
        return False
    # Taken before training, so an input edited meanwhile leaves the model stale.
    inputs = fingerprint(store)
    if how == "fine-tune":
        recorded = Fingerprint.read()
        finetunes = recorded.finetunes + 1 if recorded else 1
        print(
            "Only the NLU examples changed: fine-tuning the last model "
            f"(fine-tune {finetunes} of at most {MAX_FINETUNES} before one from scratch; "
            "`python -m bot train --force` trains from scratch now) ...",
            file=out,
            flush=True,
        )
        options = ["--finetune", str(MODEL_PATH), "--epoch-fraction", f"{FINETUNE_EPOCH_FRACTION}"]
        if _rasa_train(options).returncode == 0:
            FINGERPRINT_PATH.write_text(dataclasses.replace(inputs, finetunes=finetunes).dumps())
            print(f"Fine-tuned {MODEL_PATH.relative_to(PROJECT_ROOT)}", file=out)
            return True
        print("Rasa could not fine-tune this model; training from scratch.", file=out, flush=True)
    from bot import nlp

    print("Building the spaCy pipeline from the role store ...", file=out, flush=True)
    nlp.build(store)
    print(
        "Training the Rasa model from scratch (this takes a few minutes) ...", file=out, flush=True
    )
    _rasa_train(["--force"]).check_returncode()
    FINGERPRINT_PATH.write_text(inputs.dumps())
    print(f"Trained {MODEL_PATH.relative_to(PROJECT_ROOT)}", file=out)
    return True


def _rasa_train(options: list[str]) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    command = [
        sys.executable,
        "-m",
        "bot.rasa_command",
        "train",
        "--fixed-model-name",
        MODEL_NAME,
        "--out",
        str(MODELS_DIR),
        *options,
    ]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=False)
