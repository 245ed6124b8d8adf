"""Gates on the trained model: data validation, the held-out NLU set, the test stories."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bot import serve
from bot.settings import PROJECT_ROOT
from tests.support.servers import ARTIFACTS

MACRO_F1_THRESHOLD = 0.93


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [serve._bin("python"), "-m", "bot.rasa_command", *args],
        cwd=PROJECT_ROOT,
        env=serve.base_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )


def rasa_test(
    part: str, model: Path, *options: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`rasa test nlu` or `rasa test core` on the model; the reports go to ARTIFACTS/<part>,
    without plots (the reports are what is checked; the plots took seconds)."""
    out = ARTIFACTS / part
    return rasa("test", part, "--model", str(model), "--out", str(out), "--no-plot", *options), out


def _examples(path: Path) -> set[str]:
    found: set[str] = set()
    for block in yaml.safe_load(path.read_text())["nlu"]:
        found |= {
            line[2:].strip().lower()
            for line in block["examples"].splitlines()
            if line.startswith("- ")
        }
    return found


@pytest.mark.process
def test_data_validates_without_warnings() -> None:
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_held_out_set_is_never_trained_on() -> None:
    held_out = _examples(PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml")
    trained = set().union(*(_examples(p) for p in (PROJECT_ROOT / "data" / "nlu").glob("*.yml")))
    assert len(held_out) >= 200
    assert held_out.isdisjoint(trained)


def _counts(paths: list[Path]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in paths:
        for block in yaml.safe_load(path.read_text())["nlu"]:
            lines = [x for x in block["examples"].splitlines() if x.startswith("- ")]
            counts[block["intent"]] = counts.get(block["intent"], 0) + len(lines)
    return counts


def test_enough_examples_per_intent() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    training = _counts(sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")))
    held_out = _counts([PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml"])
    assert set(training) == set(held_out) == set(domain["intents"])
    assert min(training.values()) >= 25, training
    assert min(held_out.values()) >= 10, held_out


@pytest.fixture(scope="module")
def rasa_tests(model: Path) -> dict[str, tuple[subprocess.CompletedProcess[str], Path]]:
    """`rasa test nlu` and `rasa test core`, started together: each loads the model and
    evaluates in a process of its own, mostly on one core, so on two cores the pair takes
    little more than the longer one."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        nlu = pool.submit(rasa_test, "nlu", model, "--nlu", "tests/nlu/test_nlu.yml")
        core = pool.submit(
            rasa_test, "core", model, "--stories", "tests/stories", "--fail-on-prediction-errors"
        )
        return {"nlu": nlu.result(), "core": core.result()}


def test_held_out_intent_macro_f1(
    rasa_tests: dict[str, tuple[subprocess.CompletedProcess[str], Path]],
) -> None:
    result, out = rasa_tests["nlu"]
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "intent_report.json").read_text())
    macro_f1 = report["macro avg"]["f1-score"]
    print(f"held-out intent macro-F1: {macro_f1:.3f} (threshold {MACRO_F1_THRESHOLD})")
    weak = {
        k: round(v["f1-score"], 2)
        for k, v in report.items()
        if isinstance(v, dict) and "f1-score" in v and v["f1-score"] < 0.85
    }
    assert macro_f1 >= MACRO_F1_THRESHOLD, f"macro-F1 {macro_f1:.3f}; weak intents: {weak}"


def test_stories(rasa_tests: dict[str, tuple[subprocess.CompletedProcess[str], Path]]) -> None:
    result, out = rasa_tests["core"]
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, details
