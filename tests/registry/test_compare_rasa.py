"""`python -m bot model compare` for real (bot.registry.compare): the live model and a
candidate each in a Rasa process of its own, asked a few conversation cases, safety messages
and NLU examples. The candidate is the live model re-compressed, so the two must agree on
every answer: nothing newly passes or fails, and the only refusals can be gates."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

from bot.registry import compare
from bot.registry.records import DONE, READY, Registry, sha256
from bot.settings import Settings
from tests.support.registry import few_sets

CANDIDATE = "20261203-121500-same"


def test_the_same_model_on_both_sides_agrees_on_everything(
    live_registry: Registry, live_settings: Settings, tmp_path: Path
) -> None:
    registry = live_registry
    archive = registry.paths.archive(CANDIDATE)
    archive.parent.mkdir(parents=True)
    archive.write_bytes(gzip.compress(gzip.decompress(registry.paths.live.read_bytes()), 6))
    registry.add_model(
        CANDIDATE, origin="candidate", status=READY, created_by="alice", sha256=sha256(archive)
    )
    few = few_sets(tmp_path)

    out = io.StringIO()
    code = compare.main(
        live_settings,
        CANDIDATE,
        "bob",
        few.cases,
        out,
        safety=few.safety,
        nlu=few.nlu,
    )
    record = registry.model(CANDIDATE)
    assert record is not None and record.comparison is not None, out.getvalue()
    assert (record.compare_status, record.compared_by) == (DONE, "bob")
    assert record.compared_with == registry.live().sha256
    result = json.loads(record.comparison)
    assert [s["name"] for s in result["sets"]][:3] == [
        "conversation set",
        "saved test conversations",
        "safety messages",
    ]
    sizes = [s["candidate"][1] for s in result["sets"]]
    assert sizes == [2, 0, 2, 4]
    assert all(s["live"] == s["candidate"] for s in result["sets"]), result["sets"]
    assert result["newly_passing"] == [] and result["newly_failing"] == []
    assert result["confusions"]["live"] == result["confusions"]["candidate"]
    assert all(i["live"] == i["candidate"] for i in result["intents"])
    assert result["false_alarms"]["live"] == result["false_alarms"]["candidate"]
    gates = [f"the {g['name']} gate fails ({g['detail']})" for g in result["gates"]]
    failed = [r for g, r in zip(result["gates"], gates, strict=True) if not g["passed"]]
    assert result["refusals"] == failed
    assert record.promotable is (not failed)
    assert code == (1 if failed else 0)
    assert (
        out.getvalue()
        .rstrip()
        .endswith(
            f"{'refused' if failed else 'promotable'} (compared with careers.tar.gz (make train) "
            f"in {result['seconds']:.0f} s)"
        )
    )
