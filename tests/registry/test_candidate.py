"""Training a candidate (bot.registry.candidate) with Rasa's training replaced by a small
script that prints what Rasa prints: its progress, its failure, one at a time, the labels."""

from __future__ import annotations

import fcntl
import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.registry import candidate
from bot.registry.records import FAILED, READY, TRAINING, Registry
from bot.review import conversations_page, labels_page, transcript_page
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.settings import Settings
from bot.tracking.store import MaskingTrackerStore
from bot.training import Fingerprint
from tests.support.tracking import answer, converse, domain, user

# What Rasa prints while it trains: components, then DIET's epochs redrawn with \r.
TRAINING_OUTPUT = (
    "INFO rasa.engine.training.hooks - Starting to train component 'CountVectorsFeaturizer'.\n"
    "INFO rasa.engine.training.hooks - Starting to train component 'DIETClassifier'.\n"
    "Epochs:   0%|          | 0/4 [00:00<?, ?it/s]\r"
    "Epochs:  50%|#####     | 2/4 [00:02<00:02, 1.0s/it]\r"
    "Epochs: 100%|##########| 4/4 [00:04<00:00, 1.0s/it]\n"
)


def fake_rasa(monkeypatch: pytest.MonkeyPatch, succeed: bool = True) -> list[list[str]]:
    """Rasa's training is a script that prints TRAINING_OUTPUT and writes the archive (or
    fails as Rasa does); returns the data folders each training was given."""
    given: list[list[str]] = []

    def command(
        model_id: str, registry_dir: Path, data: list[Path], config: Path, finetune: Path | None
    ) -> list[str]:
        given.append([str(p) for p in data])
        archive = registry_dir / f"{model_id}.tar.gz"
        end = (
            f"open({str(archive)!r}, 'wb').write(b'model')"
            if succeed
            else "print('rasa.shared.exceptions.InvalidConfigException: no such component'); "
            "raise SystemExit(1)"
        )
        script = f"import sys; sys.stdout.write({TRAINING_OUTPUT!r}); sys.stdout.flush(); {end}"
        return [sys.executable, "-c", script]

    monkeypatch.setattr(candidate, "rasa_train_command", command)
    return given


def test_a_candidate_is_trained_with_its_progress_recorded(
    registry: Registry, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = fake_rasa(monkeypatch)
    stages: list[tuple[str, float | None]] = []
    update = registry.update_model

    def recorded(model_id: str, **values: object) -> None:
        if "stage" in values:
            stages.append((str(values["stage"]), values.get("progress")))  # type: ignore[arg-type]
        update(model_id, **values)

    monkeypatch.setattr(Registry, "update_model", lambda self, i, **v: recorded(i, **v))
    monkeypatch.setattr(candidate, "PROGRESS_EVERY_S", 0.0)
    out = io.StringIO()
    code, model_id = candidate.train(settings, candidate.Options(by="alice"), out)
    assert code == 0 and model_id is not None
    assert candidate.ID_PATTERN.fullmatch(model_id)
    record = registry.model(model_id)
    assert record is not None
    assert (record.status, record.created_by, record.progress) == (READY, "alice", 1.0)
    assert record.sha256 is not None and len(record.sha256) == 64
    assert ("training DIETClassifier: epoch 2 of 4", 0.5) in stages
    assert ("training CountVectorsFeaturizer", None) in stages
    fingerprint = Fingerprint.read(registry.paths.fingerprint(model_id))
    assert fingerprint is not None and fingerprint.finetunes == 0
    assert given == [[str(Path(candidate.PROJECT_ROOT) / "data")]]  # no label: data/ alone
    log = (registry.paths.workdir(model_id) / "training.log").read_text()
    assert "Starting to train component 'DIETClassifier'" in log
    assert "training DIETClassifier" in out.getvalue()


def test_a_failed_training_says_why(
    registry: Registry,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_rasa(monkeypatch, succeed=False)
    code, model_id = candidate.train(settings, candidate.Options(by="alice"), io.StringIO())
    assert code == 1 and model_id is not None
    record = registry.model(model_id)
    assert record is not None and record.status == FAILED
    assert record.error is not None
    assert "InvalidConfigException: no such component" in record.error
    assert "Epochs" not in record.error  # the error, not the progress bars
    assert "InvalidConfigException" in capsys.readouterr().err


def test_one_candidate_at_a_time(
    registry: Registry, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_rasa(monkeypatch)
    registry.paths.registry.mkdir(parents=True)
    with open(registry.paths.registry / ".candidate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(candidate.CandidateError, match="already being trained"):
            candidate.train(settings, candidate.Options(by="bob"), io.StringIO())
    assert registry.models() == []


def test_a_training_whose_process_died_is_marked_failed(registry: Registry) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    registry.add_model(
        "20261203-101500-abcd",
        origin="candidate",
        status=TRAINING,
        created_by="alice",
        pid=gone.pid,
        host=candidate.socket.gethostname(),
    )
    candidate.reap(registry)
    record = registry.model("20261203-101500-abcd")
    assert record is not None and record.status == FAILED
    assert "stopped before it finished" in (record.error or "")


async def test_the_labels_leave_out_the_sets_a_comparison_runs(
    registry: Registry, registry_log_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_set = "do they help when doctors take tissue samples"  # tests/conversations
    held_out_nlu = next(
        line[6:].strip()
        for line in (candidate.PROJECT_ROOT / "tests/nlu/test_nlu.yml").read_text().splitlines()
        if line.startswith("    - ")
    )
    store = MaskingTrackerStore(domain=domain(), host=registry_log_url)
    for number, text in enumerate(
        [conversation_set, held_out_nlu, "would I help when a doctor takes a sample of tissue"]
    ):
        await converse(store, f"s{number}", [[user(text, "out_of_scope", 0.8), *answer()]])
    store.engine.dispose()
    log = ConversationLog(registry.engine)
    for row in conversations_page.conversations(log, Filters()).rows:
        message = next(
            t.message for t in transcript_page.transcript(log, row.id).turns if t.message
        )
        labels_page.set_label(log, message.id, "ask_duties", "alice")

    labels = candidate.console_labels(registry)
    assert labels.count == 1 and labels.held_out == 1  # the NLU example: left out by the export
    assert "- would I help when a doctor takes a sample of tissue" in labels.yaml
    assert conversation_set not in labels.yaml

    given = fake_rasa(monkeypatch)
    code, model_id = candidate.train(settings, candidate.Options(by="alice"), io.StringIO())
    assert code == 0 and model_id is not None
    labels_file = registry.paths.workdir(model_id) / "console_labels.yml"
    assert given[-1][-1] == str(labels_file)
    record = registry.model(model_id)
    assert record is not None and (record.labels, record.new_labels) == (1, 3)
