"""When `python -m bot train` trains from scratch, fine-tunes, or leaves the model alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot import training
from bot.settings import PROJECT_ROOT
from bot.store import SqlRoleStore
from bot.training import MAX_FINETUNES, Fingerprint, decide


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the training inputs, to edit."""
    for name in (*training.TRAINING_INPUTS, "requirements.lock"):
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def first_example(project: Path) -> Path:
    return sorted((project / "data" / "nlu").glob("*.yml"))[0]


def test_an_edited_example_changes_only_the_examples_part(
    project: Path, memory_store: SqlRoleStore
) -> None:
    before = training.fingerprint(memory_store, project)
    path = first_example(project)
    path.write_text(path.read_text() + "    - one more way to ask\n")
    after = training.fingerprint(memory_store, project)
    assert after.examples != before.examples
    assert after.others == before.others


@pytest.mark.parametrize("name", ["domain.yml", "config.yml", "data/rules", "requirements.lock"])
def test_any_other_input_changes_the_other_part(
    project: Path, memory_store: SqlRoleStore, name: str
) -> None:
    before = training.fingerprint(memory_store, project)
    path = project / name
    path = sorted(path.glob("*.yml"))[0] if path.is_dir() else path
    path.write_text(path.read_text() + "\n# edited\n")
    after = training.fingerprint(memory_store, project)
    assert after.others != before.others
    assert after.examples == before.examples


TRAINED = Fingerprint(examples="e1", others="o1")


@pytest.mark.parametrize(
    ("current", "recorded", "model_exists", "force", "expected"),
    [
        (TRAINED, TRAINED, True, False, "up to date"),
        (Fingerprint("e2", "o1"), TRAINED, True, False, "fine-tune"),
        (Fingerprint("e2", "o2"), TRAINED, True, False, "from scratch"),
        (Fingerprint("e1", "o2"), TRAINED, True, False, "from scratch"),
        (Fingerprint("e2", "o1"), TRAINED, False, False, "from scratch"),
        (Fingerprint("e2", "o1"), None, True, False, "from scratch"),
        (Fingerprint("e2", "o1"), TRAINED, True, True, "from scratch"),
        (TRAINED, TRAINED, True, True, "from scratch"),
        (
            Fingerprint("e2", "o1"),
            Fingerprint("e1", "o1", MAX_FINETUNES - 1),
            True,
            False,
            "fine-tune",
        ),
        (
            Fingerprint("e2", "o1"),
            Fingerprint("e1", "o1", MAX_FINETUNES),
            True,
            False,
            "from scratch",
        ),
    ],
)
def test_decide(
    current: Fingerprint,
    recorded: Fingerprint | None,
    model_exists: bool,
    force: bool,
    expected: str,
) -> None:
    assert decide(current, recorded, model_exists=model_exists, force=force) == expected


def test_the_recorded_fingerprint_round_trips_and_an_old_one_is_none(tmp_path: Path) -> None:
    path = tmp_path / "careers.fingerprint"
    path.write_text(Fingerprint("e", "o", 2).dumps())
    assert Fingerprint.read(path) == Fingerprint("e", "o", 2)
    path.write_text("f73a689d8db70673f5538edceb82f7f85ac3fcde63642ff853bcdd7d1510bbbc\n")
    assert Fingerprint.read(path) is None
    assert Fingerprint.read(tmp_path / "missing") is None
