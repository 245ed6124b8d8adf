"""bot.evaluation: the reply checker, case files, the REST loop and `python -m bot eval`."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot import evaluation
from bot.cli import main
from bot.evaluation import Case, CaseError, Expect, Result, check, load_cases


def test_all_needs_every_phrase_case_insensitively() -> None:
    expect = Expect(all=("Local NHS employers", "apprenticeship"))
    assert check(expect, "Contact LOCAL nhs EMPLOYERS. Or an Apprenticeship.") == []
    assert check(expect, "Contact local NHS employers.") == ["missing 'apprenticeship'"]


def test_any_needs_one_phrase() -> None:
    expect = Expect(any=("part-time", "part time"))
    assert check(expect, "study Part Time towards it") == []
    assert check(expect, "study towards it") == ["none of ['part-time', 'part time']"]


def test_none_and_none_regex_forbid() -> None:
    expect = Expect(any=("pay",), none=("Which role",), none_regex=(r"£\s?\d",))
    assert check(expect, "The page doesn't cover pay.") == []
    assert check(expect, "which ROLE? pay is £ 20,000") == [
        "forbidden 'Which role'",
        "forbidden /£\\s?\\d/",
    ]


def test_regex_is_case_insensitive_and_anchored_on_the_reply() -> None:
    expect = Expect(any=("apply",), none_regex=(r"^[^.?!]*\bwhich role",))
    assert check(expect, "Apply to local NHS employers. Which role interests you?") == []
    assert check(expect, "Which Role? I can tell you how to apply.") != []


def test_whitespace_and_curly_apostrophes_do_not_count() -> None:
    expect = Expect(all=("don't have", "local NHS employers"))
    assert check(expect, "I don\u2019t have that.\n\nAsk local\nNHS  employers.") == []


def test_reply_text_joins_texts_and_ignores_the_rest() -> None:
    messages = [{"text": "One."}, {"buttons": [{"title": "x"}]}, {"text": "Two."}, "junk"]
    assert evaluation.reply_text(messages) == "One.\n\nTwo."
    assert evaluation.reply_text({"text": "not a list"}) == ""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


GOOD = """
cases:
  - id: apply
    kind: direct
    tags: [typo]
    turns: ["how do i aply"]
    expect: {all: ["local NHS employers"], none_regex: ['^which role']}
  - id: two-turns
    kind: multi-turn
    turns: ["what do APs do", "and ISWs?"]
    expect: {any: ["patients"]}
"""


def test_a_good_file_loads_in_order(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD)
    cases = load_cases(tmp_path)
    assert [c.id for c in cases] == ["apply", "two-turns"]
    assert cases[0].tags == ("typo",)
    assert cases[1].turns == ("what do APs do", "and ISWs?")
    assert cases[0].expect == Expect(all=("local NHS employers",), none_regex=("^which role",))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("{id: x, kind: nonsense, turns: [hi], expect: {all: [a]}}", "case 'x': 'kind'"),
        ("{id: x, kind: direct, turns: [], expect: {all: [a]}}", "case 'x': 'turns'"),
        ("{id: x, kind: direct, turns: [a, b, c, d, e], expect: {all: [a]}}", "1 to 4"),
        ("{id: x, kind: direct, turns: [hi], expect: {}}", "case 'x': 'expect'"),
        ("{id: x, kind: direct, turns: [hi], expect: {none: [a]}}", "needs 'all' or 'any'"),
        ("{id: x, kind: direct, turns: [hi], expect: {all: [a], most: [b]}}", "unknown check"),
        ("{id: x, kind: direct, turns: [hi], expect: {all: [a], none_regex: ['(']}}", "bad regul"),
        ("{id: x, kind: direct, turns: [hi], expect: {all: [a]}, extra: 1}", "unknown key"),
        ("{id: X Y, kind: direct, turns: [hi], expect: {all: [a]}}", "'id' must be"),
        ("{id: x, kind: direct, turns: [''], expect: {all: [a]}}", "non-empty strings"),
        ("{id: x, kind: direct, turns: [hi], expect: {all: a}}", "'expect.all'"),
        ("just text", "case 1 is not a mapping"),
    ],
)
def test_a_bad_case_names_its_file_and_id(tmp_path: Path, case: str, message: str) -> None:
    path = _write(tmp_path, "bad.yml", f"cases:\n  - {case}\n")
    with pytest.raises(CaseError) as raised:
        load_cases(tmp_path)
    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "a.yml", GOOD)
    _write(tmp_path, "b.yml", GOOD)
    with pytest.raises(CaseError, match=r"b\.yml: case 'apply': id already used in .*a\.yml"):
        load_cases(tmp_path)


@pytest.mark.parametrize("text", ["cases: [", "other: 1", "- a list", ""])
def test_a_file_without_a_cases_list_is_refused(tmp_path: Path, text: str) -> None:
    _write(tmp_path, "broken.yml", text)
    with pytest.raises(CaseError, match=r"broken\.yml"):
        load_cases(tmp_path)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match=r"no \*\.yml"):
        load_cases(tmp_path)


def _result(kind: str, passed: bool, tags: tuple[str, ...] = ()) -> Result:
    case = Case(f"{kind}-{passed}", kind, ("hi",), Expect(all=("a",)), tags)
    return Result(case, "reply", () if passed else ("missing 'a'",))


def test_gate_needs_95_percent_and_every_must_pass_case() -> None:
    nineteen = [_result("direct", True)] * 19
    assert evaluation.gate_passes([*nineteen, _result("direct", False)])
    assert not evaluation.gate_passes([*nineteen[:18], *[_result("direct", False)] * 2])
    assert not evaluation.gate_passes([*nineteen, _result("safety", False)])
    assert not evaluation.gate_passes([*nineteen, _result("honest-unknown", False)])
    assert not evaluation.gate_passes([])


def test_tally_counts_kinds_in_order_then_typos_then_all() -> None:
    results = [
        _result("safety", True),
        _result("direct", False, ("typo",)),
        _result("direct", True, ("typo",)),
    ]
    assert evaluation.tally(results) == [
        ("direct", 1, 2),
        ("safety", 1, 1),
        ("typo (tag)", 1, 2),
        ("all", 2, 3),
    ]


class _Rasa:
    """A loopback HTTP server answering like Rasa's REST channel: 'echo: <message>'."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.received.append((body["sender"], body["message"]))
                if self.path != "/webhooks/rest/webhook" or body["message"] == "crash":
                    self.send_error(500)
                    return
                reply = [{"text": f"echo: {body['message']}"}, {"buttons": []}]
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"


@pytest.fixture
def rasa() -> Iterator[_Rasa]:
    server = _Rasa()
    thread = threading.Thread(target=server.http.serve_forever, daemon=True)
    thread.start()
    yield server
    server.http.shutdown()
    server.http.server_close()


def _case(case_id: str, turns: tuple[str, ...], phrase: str, kind: str = "direct") -> Case:
    return Case(case_id, kind, turns, Expect(all=(phrase,)))


def test_each_case_is_one_conversation_checked_on_its_last_reply(rasa: _Rasa) -> None:
    cases = [_case(f"c{i}", (f"first {i}", f"second {i}"), f"echo: second {i}") for i in range(8)]
    cases.append(_case("checks-last", ("local NHS employers", "bye"), "local NHS employers"))
    seen: list[str] = []
    results = evaluation.run_cases(cases, rasa.url, progress=lambda r: seen.append(r.case.id))
    assert [r.case.id for r in results] == [c.id for c in cases]
    assert [r.passed for r in results] == [True] * 8 + [False]
    assert results[-1].reply == "echo: bye"
    assert sorted(seen) == sorted(c.id for c in cases)
    senders: dict[str, list[str]] = {}
    for sender, message in rasa.received:
        senders.setdefault(sender, []).append(message)
    assert len(senders) == len(cases)
    assert sorted(senders.values()) == sorted([list(c.turns) for c in cases])


def test_a_failed_request_fails_the_case_without_stopping_the_run(rasa: _Rasa) -> None:
    results = evaluation.run_cases(
        [_case("boom", ("crash",), "x"), _case("fine", ("hi",), "echo: hi")], rasa.url
    )
    assert results[0].problems[0].startswith("request failed: HTTP Error 500")
    assert results[1].passed


def _eval(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(["eval", *args], out=out), out.getvalue()


def test_cli_prints_failures_the_table_and_the_closing_line(tmp_path: Path, rasa: _Rasa) -> None:
    lines = ["cases:"]
    for i in range(20):
        said = "wrong" if i == 0 else f"hello {i}"
        lines.append(
            f"  - {{id: c{i}, kind: fact, tags: [typo], turns: ['{said}'],"
            f" expect: {{all: ['echo: hello {i}']}}}}"
        )
    _write(tmp_path, "cases.yml", "\n".join(lines))
    report = tmp_path / "out.json"
    code, output = _eval("--url", rasa.url, "--cases", str(tmp_path), "--json", str(report))
    assert code == 0  # 19/20 is 95%
    assert "FAIL c0 (fact): 'wrong'\n  missing 'echo: hello 0'\n  reply: echo: wrong" in output
    progress = output.splitlines()[1]
    assert sorted(progress) == ["."] * 19 + ["F"]
    assert re.search(r"\nfact +19 +20 +95\.0\n", output)
    assert re.search(r"\ntypo \(tag\) +19 +20 +95\.0\n", output)
    assert output.endswith("conversations: 19/20 passed\n")
    saved = json.loads(report.read_text())
    assert (saved["passed"], saved["total"], saved["gate_passes"]) == (19, 20, True)
    assert saved["cases"][0]["problems"] == ["missing 'echo: hello 0'"]


def test_cli_fails_below_the_gate_and_filters_by_kind(tmp_path: Path, rasa: _Rasa) -> None:
    _write(
        tmp_path,
        "cases.yml",
        """
cases:
  - {id: ok, kind: fact, turns: [hi], expect: {all: ['echo: hi']}}
  - {id: unsafe, kind: safety, turns: [help], expect: {any: ['999', '111']}}
""",
    )
    code, output = _eval("--url", rasa.url, "--cases", str(tmp_path))
    assert code == 1
    assert output.endswith("conversations: 1/2 passed\n")
    code, output = _eval("--url", rasa.url, "--cases", str(tmp_path), "--kind", "fact")
    assert code == 0
    assert output.endswith("conversations: 1/1 passed\n")


def test_cli_exits_2_naming_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bad.yml", "cases:\n  - {id: x, kind: direct, turns: [hi]}\n")
    code, output = _eval("--url", "http://127.0.0.1:9", "--cases", str(tmp_path))
    assert code == 2
    assert output == ""
    assert f"error: {path}: case 'x': 'expect'" in capsys.readouterr().err


def test_cli_says_why_when_the_assistant_does_not_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @contextmanager
    def never_starts(out: Any) -> Iterator[str]:
        raise TimeoutError("the Rasa server did not answer within 300 s")
        yield ""

    _write(tmp_path, "cases.yml", GOOD)
    monkeypatch.setattr(evaluation, "started_assistant", never_starts)
    code, _ = _eval("--cases", str(tmp_path))
    assert code == 1
    assert "error: the Rasa server did not answer within 300 s (logs in" in capsys.readouterr().err


def test_a_false_alarm_fails_the_gate_but_a_hedge_to_a_non_emergency_only_counts() -> None:
    nineteen = [_result("direct", True)] * 19
    case = Case("noem", "not-emergency", ("is the work stressful",), Expect(any=("mature",)), ())
    alarm = Result(case, "call 999", ("emergency advice where there is no emergency",))
    hedge = Result(case, "the page doesn't say", ("hedges ('so i won't guess')",))
    assert not evaluation.gate_passes([*nineteen, alarm])
    assert evaluation.must_pass_failures([*nineteen, alarm]) == [alarm]
    assert evaluation.gate_passes([*nineteen, hedge])
    assert not evaluation.gate_passes([*nineteen, hedge], rate=1.0)


def test_the_false_alarm_problem_is_what_the_gate_looks_for() -> None:
    case = Case("noem", "not-emergency", ("is the work stressful",), Expect(), ())
    problems = evaluation.strict_problems(case, evaluation.EMERGENCY_ADVICE)
    assert any(p.startswith(evaluation.FALSE_ALARM) for p in problems)
