"""The comparison's verdict (bot.registry.compare) from answers made in the test: what newly
passes and fails, F1 and confusions, and every reason a promotion is refused. Both models in
Rasa processes of their own: tests/registry/test_trainers_loop.py."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot import evaluation
from bot.evaluation import Case, Expect, Result
from bot.registry import compare
from bot.registry.records import DONE, FAILED, READY, Registry
from bot.settings import Settings
from tests.support.servers import HOST

MODEL = "20261203-101500-abcd"


def case(case_id: str, kind: str = "fact", tags: tuple[str, ...] = ()) -> Case:
    return Case(case_id, kind, ("a question",), Expect(all=("right",)), tags)


def results(cases: list[Case], passed: list[bool]) -> list[Result]:
    return [
        Result(c, "right" if ok else "wrong", () if ok else ("missing 'right'",))
        for c, ok in zip(cases, passed, strict=True)
    ]


CONVERSATIONS = [case(f"c{n}") for n in range(40)] + [
    case("unknown-pay", "honest-unknown"),
    case("chest-pain", "safety"),
]
SAVED = [case("saved-1-x", "multi-turn")]
SAFETY = [case("st-e1", "safety", ("emergency",)), case("st-e2", "safety", ("emergency",))] + [
    case(f"st-c{n}", "safety", ("careers",)) for n in range(3)
]
NLU = [("hi", "greet", "held-out"), ("hello", "greet", "held-out"), ("pay?", "ask_pay", "held-out")]
NLU += [("what band", "ask_pay", "labels")]
SETS = compare.Sets(CONVERSATIONS, SAVED, SAFETY, NLU)


def answers(
    conversations: list[bool], saved: list[bool], safety: list[bool], predicted: list[str]
) -> compare.Answers:
    return compare.Answers(
        results(CONVERSATIONS, conversations),
        results(SAVED, saved),
        results(SAFETY, safety),
        predicted,
    )


ALL = [True] * len(CONVERSATIONS)


def test_a_better_candidate_may_be_promoted() -> None:
    live = answers([False, *ALL[1:]], [False], [True, True, True, True, False], ["greet"] * 4)
    new = answers(ALL, [True], [True] * 5, ["greet", "greet", "ask_pay", "ask_pay"])
    verdict = compare.judge(SETS, {"live": live, "candidate": new})
    assert verdict["refusals"] == []
    assert [(c["set"], c["id"]) for c in verdict["newly_passing"]] == [
        ("conversation set", "c0"),
        ("saved test conversations", "saved-1-x"),
        ("safety messages", "st-c2"),
    ]
    assert verdict["newly_failing"] == []
    assert verdict["sets"][0] == {
        "name": "conversation set",
        "live": [41, 42],
        "candidate": [42, 42],
    }
    assert {r["intent"]: (r["live"], r["candidate"]) for r in verdict["intents"]} == {
        "ask_pay": (0.0, 1.0),
        "greet": (0.8, 1.0),
    }
    assert verdict["macro_f1"] == {"live": pytest.approx(0.4), "candidate": 1.0}
    assert verdict["confusions"]["live"] == [
        {
            "label": "ask_pay",
            "predicted": "greet",
            "count": 2,
            "examples": ["pay?", "what band"],
            "sources": ["held-out", "labels"],
        }
    ]
    assert [g["passed"] for g in verdict["gates"]] == [True, True]
    assert verdict["false_alarms"] == {"live": 1, "candidate": 0}


def test_every_regression_that_matters_is_a_reason_to_refuse() -> None:
    live = answers(ALL, [True], [True] * 5, ["greet", "greet", "ask_pay", "ask_pay"])
    regressed = [*ALL[:-2], False, False]  # the honest-unknown and the safety case
    new = answers(
        regressed,
        [False],
        [False, True, False, True, True],
        ["greet", "ask_pay", "ask_pay", "ask_pay"],
    )
    verdict = compare.judge(SETS, {"live": live, "candidate": new})
    refusals = verdict["refusals"]
    assert any(r.startswith("honest-unknown case unknown-pay") for r in refusals)
    assert any(r.startswith("safety case chest-pain") for r in refusals)
    assert any(r.startswith("saved test saved-1-x") for r in refusals)
    assert any("emergency st-e1" in r and "call 999" in r for r in refusals)
    assert any("emergency advice goes to 1 careers questions" in r for r in refusals)
    assert any("conversation set" in r and "gate fails" in r for r in refusals)
    assert any("macro-F1" in r and "gate fails" in r for r in refusals)
    assert len(verdict["newly_failing"]) == 5


def test_a_careers_question_flipping_both_ways_is_not_a_regression() -> None:
    """Which borderline careers questions get the emergency advice moves between trainings:
    the count is what may not grow."""
    live = answers(
        ALL, [True], [True, True, False, True, True], ["greet", "greet", "ask_pay", "ask_pay"]
    )
    new = answers(
        ALL, [True], [True, True, True, False, True], ["greet", "greet", "ask_pay", "ask_pay"]
    )
    verdict = compare.judge(SETS, {"live": live, "candidate": new})
    assert verdict["refusals"] == []
    assert [c["id"] for c in verdict["newly_failing"]] == ["st-c1"]


def test_the_safety_messages_are_cases_of_the_emergency_advice() -> None:
    cases = compare.safety_cases()
    emergencies = [c for c in cases if "emergency" in c.tags]
    assert len(cases) >= 100 and 0 < len(emergencies) < len(cases)
    assert all(c.expect.all == ("call 999",) for c in emergencies)
    careers = next(c for c in cases if "careers" in c.tags)
    assert evaluation.check(careers.expect, "If this is an emergency, call 999 now.") != []


@pytest.fixture
def parse_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            text = json.loads(self.rfile.read(length))["text"]
            ranking = [
                {"name": "nlu_fallback", "confidence": 0.55},
                {"name": "greet", "confidence": 0.4},
            ]
            body = {
                "intent": ranking[0],
                "intent_ranking": ranking if text == "hiya" else ranking[1:],
            }
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((HOST, 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{HOST}:{server.server_address[1]}"
    server.shutdown()


def test_a_fallback_counts_as_the_intent_it_hid(parse_server: str) -> None:
    """As `rasa test nlu` counts it, so the NLU gate means what tests/rasa's does."""
    assert compare.parse(parse_server, "token", "hiya") == "greet"


def test_the_command_records_the_verdict_or_the_failure(
    registry: Registry, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry.paths.live.write_bytes(b"live")
    registry.add_model(MODEL, origin="candidate", status=READY, created_by="alice")
    monkeypatch.setattr(compare, "load_sets", lambda *args: SETS)

    def broken(*_args: Any) -> dict[str, Any]:
        raise RuntimeError("the Rasa server did not answer within 600 s")

    monkeypatch.setattr(compare, "compare", broken)
    assert compare.main(settings, MODEL, "bob", evaluation.CASES_DIR, io.StringIO()) == 2
    record = registry.model(MODEL)
    assert record is not None and record.compare_status == FAILED
    assert "did not answer within 600 s" in (record.compare_error or "")

    verdict = {"refusals": ["the X gate fails"], "seconds": 3.0, "sets": [], "newly_passing": []}
    verdict |= {"newly_failing": [], "intents": [], "macro_f1": {"live": None, "candidate": None}}
    verdict |= {"confusions": {"live": [], "candidate": []}, "gates": []}
    monkeypatch.setattr(compare, "compare", lambda *args: verdict)
    out = io.StringIO()
    assert compare.main(settings, MODEL, "bob", evaluation.CASES_DIR, out) == 1
    assert (
        out.getvalue()
        .rstrip()
        .endswith("refused (compared with careers.tar.gz (make train) in 3 s)")
    )
    record = registry.model(MODEL)
    assert record is not None
    assert (record.compare_status, record.promotable, record.compared_by) == (DONE, False, "bob")
    assert record.compared_with == registry.live().sha256
    assert record.refusals == ["the X gate fails"]
    assert compare.main(settings, "20990101-000000-0000", "bob", evaluation.CASES_DIR, out) == 2
