"""`python -m bot train`: rebuild the spaCy pipeline and retrain Rasa only when an input changed.

Rasa fingerprints SpacyNLP by the pipeline's path, not its contents, so a role added to the
store would not retrain on its own; this fingerprint covers the training data, the config,
the domain, the role names and terms in the store, and the locked package versions.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from bot.settings import PROJECT_ROOT
from bot.store import RoleStore

MODEL_NAME = "careers"
MODELS_DIR = PROJECT_ROOT / "models"
MODEL_PATH = MODELS_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_PATH = MODELS_DIR / f"{MODEL_NAME}.fingerprint"
TRAINING_INPUTS = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories")


def fingerprint(store: RoleStore, root: Path = PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    paths: list[Path] = []
    for name in (*TRAINING_INPUTS, "requirements.lock"):
        path = root / name
        paths += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    wordings = [store.role_names(), store.group_names(), store.terms()]
    digest.update(json.dumps(wordings, sort_keys=True).encode())
    return digest.hexdigest()


def is_stale(store: RoleStore) -> bool:
    if not MODEL_PATH.exists() or not FINGERPRINT_PATH.exists():
        return True
    return FINGERPRINT_PATH.read_text().strip() != fingerprint(store)


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
    from bot import nlp

    if not force and not is_stale(store):
        print(f"The model is up to date: {MODEL_PATH.relative_to(PROJECT_ROOT)}", file=out)
        return False
    # Taken before training, so an input edited meanwhile leaves the model stale.
    inputs = fingerprint(store)
    print("Building the spaCy pipeline from the role store ...", file=out, flush=True)
    nlp.build(store)
    print("Training the Rasa model (this takes a few minutes) ...", file=out, flush=True)
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    command = [
        str(Path(sys.executable).with_name("rasa")),
        "train",
        "--fixed-model-name",
        MODEL_NAME,
        "--out",
        str(MODELS_DIR),
        "--force",
    ]
    subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True)
    FINGERPRINT_PATH.write_text(inputs + "\n")
    print(f"Trained {MODEL_PATH.relative_to(PROJECT_ROOT)}", file=out)
    return True
