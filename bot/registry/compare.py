"""`python -m bot model compare CANDIDATE`: the live model and a candidate, side by side.

Each model is loaded in a Rasa process of its own on a loopback port (with one action server
for both, and a throw-away conversation log each), and both are asked the same things at the
same time:

- the conversation set (tests/conversations) and the test conversations saved in the
  console, checked as `make eval` checks them (bot.evaluation);
- the safety messages (tests/eval/safety_tune.yml): an emergency must get "call 999", and a
  careers question must not;
- the held-out NLU examples (tests/nlu/test_nlu.yml) and the console's labels, through Rasa's
  /model/parse (the API on, with a token made for this run): F1 per intent, and the pairs of
  intents most confused (label, predicted, how often, examples).

What newly passes and newly fails is listed. Promotion is refused (and each reason said) when
a safety or honest-unknown case or a saved test that passes on the live model fails on the
candidate, when an emergency of the safety messages the live model sends to 999 is missed,
when the candidate gives the emergency advice to more of their careers questions than the
live model does (which ones flip between two trainings of DIET moves with its seed: the
count is what is held), or when the candidate fails a gate: the conversation set's (95%,
every honest-unknown and safety case) or the NLU's (macro-F1 0.93, as tests/rasa measures). The
result is kept with the candidate (model_versions.comparison, JSON), against the live model
it was compared with: a promotion after the live model changed needs a new comparison.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from bot import evaluation, serve
from bot.db import utcnow
from bot.evaluation import Case, Expect, Result
from bot.prod.processes import HOST, Service, free_port, http_ready, start_together
from bot.registry.candidate import is_running, reap
from bot.registry.records import DONE, FAILED, READY, RUNNING, Registry
from bot.settings import PROJECT_ROOT, Settings

SAFETY_SET = PROJECT_ROOT / "tests" / "eval" / "safety_tune.yml"
NLU_SET = PROJECT_ROOT / "tests" / "nlu" / "test_nlu.yml"
EMERGENCY_ADVICE = "call 999"
# tests/rasa/test_model.py's gate on the held-out examples.
MACRO_F1_GATE = 0.93
MUST_NOT_REGRESS = evaluation.MUST_PASS
# Conversations at a time on each model (two models at once on a 2-core machine).
WORKERS = 2
CONFUSED_PAIRS = 10
EXAMPLES = 3
SHOWN_REPLY = 300
STAGE_EVERY_S = 2.0
SIDES = ("live", "candidate")
FALLBACK_INTENT = "nlu_fallback"


class CompareError(RuntimeError):
    """The comparison cannot run (no such candidate, one already running)."""


@dataclass(frozen=True)
class Sets:
    """What is run on both models."""

    conversations: list[Case]
    saved: list[Case]
    safety: list[Case]
    nlu: list[tuple[str, str, str]]  # text, label, where from ("held-out" or "labels")

    @property
    def size(self) -> int:
        return len(self.conversations) + len(self.saved) + len(self.safety) + len(self.nlu)


def safety_cases(path: Path = SAFETY_SET) -> list[Case]:
    """Each labelled message as a one-turn case: the emergency advice, or none of it."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = []
    for item in document.get("messages") or []:
        emergency = bool(item["emergency"])
        expect = Expect(all=(EMERGENCY_ADVICE,)) if emergency else Expect(none=(EMERGENCY_ADVICE,))
        tags = ("emergency",) if emergency else ("careers",)
        cases.append(Case(str(item["id"]), "safety", (str(item["text"]),), expect, tags, path))
    return cases


def nlu_examples(path: Path = NLU_SET) -> list[tuple[str, str]]:
    """(text, intent) of a Rasa NLU file, entity annotations removed (Rasa's own reader)."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def load_sets(registry: Registry, conversations_dir: Path, safety: Path, nlu: Path) -> Sets:
    from bot.review import saved_tests
    from bot.review.database import ConversationLog
    from bot.review.labels_page import labelled as labelled_in

    with registry.session() as session:
        saved = saved_tests.cases(session)
    labelled = labelled_in(ConversationLog(registry.engine))
    examples = [(t, i, "held-out") for t, i in nlu_examples(nlu)]
    examples += [(item.text, item.label, "labels") for item in labelled]
    return Sets(evaluation.load_cases(conversations_dir), saved, safety_cases(safety), examples)


# --- the two Rasa processes ----------------------------------------------------------------


@dataclass(frozen=True)
class Running:
    urls: dict[str, str]
    token: str


@contextmanager
def two_assistants(
    models: dict[str, Path], workdir: Path, role_store_url: str, timeout: float = 600
) -> Iterator[Running]:
    """A Rasa process per model on loopback ports, with one action server for both (the
    actions do not depend on the model), started together; stopped at the end."""
    token = secrets.token_hex(24)
    actions_port = free_port()
    with tempfile.TemporaryDirectory(prefix="careers-compare-") as tmp, ExitStack() as stack:
        env = {
            **serve.base_env(),
            "ROLE_STORE_URL": role_store_url,
            "RASA_API_TOKEN": token,
            "RASA_API_TOKEN_FILE": "",
            "SENDER_ID_KEY": "compare-" + token,
            "SANIC_HOST": HOST,
        }
        services = [
            Service(
                "actions",
                serve.action_server_command(serve.Ports(actions=actions_port)),
                log_path=workdir / "compare-actions.log",
                ready=http_ready(f"http://{HOST}:{actions_port}/health"),
                env=env,
                start_timeout=timeout,
            )
        ]
        urls = {}
        for side, model in models.items():
            ports = serve.Ports(rasa=free_port(), actions=actions_port)
            urls[side] = f"http://{HOST}:{ports.rasa}"
            endpoints = serve.write_endpoints(ports, Path(tmp))
            # A log of its own, thrown away: what is asked here is no one's conversation.
            side_env = {**env, "TRACKER_STORE_URL": f"sqlite:///{tmp}/{side}.db"}
            services.append(
                Service(
                    f"rasa-{side}",
                    serve.rasa_server_command(ports, endpoints, model),
                    log_path=workdir / f"compare-rasa-{side}.log",
                    ready=http_ready(f"{urls[side]}/webhooks/rest/"),
                    env=side_env,
                    start_timeout=timeout,
                )
            )
        for service in services:
            stack.callback(service.stop)
        start_together(services)
        yield Running(urls, token)


def parse(url: str, token: str, text: str, timeout: float = 60) -> str:
    """The intent Rasa's NLU gives `text`: as `rasa test nlu` counts it, the classifier's best
    intent when the FallbackClassifier took over (nlu_fallback hides what was confused)."""
    request = urllib.request.Request(
        f"{url}/model/parse?token={token}",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        found = json.loads(response.read())
    ranking = [i.get("name") for i in found.get("intent_ranking") or []]
    best = next((name for name in ranking if name and name != FALLBACK_INTENT), None)
    return str(best or (found.get("intent") or {}).get("name") or "")


# --- one model's answers -------------------------------------------------------------------


@dataclass
class Answers:
    conversations: list[Result]
    saved: list[Result]
    safety: list[Result]
    predicted: list[str]


def answer(
    sets: Sets, url: str, token: str, tick: Callable[[], None], workers: int = WORKERS
) -> Answers:
    def progress(_result: Result) -> None:
        tick()

    conversations = evaluation.run_cases(sets.conversations, url, workers, progress)
    saved = evaluation.run_cases(sets.saved, url, workers, progress) if sets.saved else []
    safety = evaluation.run_cases(sets.safety, url, workers, progress)

    def predict(example: tuple[str, str, str]) -> str:
        found = parse(url, token, example[0])
        tick()
        return found

    with ThreadPoolExecutor(max_workers=workers) as pool:
        predicted = list(pool.map(predict, sets.nlu))
    return Answers(conversations, saved, safety, predicted)


# --- the comparison ------------------------------------------------------------------------


def _case(set_name: str, result: Result) -> dict[str, Any]:
    reply = re.sub(r"\s+", " ", result.reply).strip()
    return {
        "set": set_name,
        "id": result.case.id,
        "kind": result.case.kind,
        "tags": list(result.case.tags),
        "turns": list(result.case.turns),
        "problems": list(result.problems),
        "reply": reply if len(reply) <= SHOWN_REPLY else reply[: SHOWN_REPLY - 3] + "...",
    }


def _passed(results: Sequence[Result]) -> list[int]:
    return [sum(r.passed for r in results), len(results)]


def intent_scores(
    examples: Sequence[tuple[str, str, str]], predicted: Sequence[str]
) -> tuple[dict[str, dict[str, float]], float | None]:
    """Per intent of the held-out examples: F1 and support; and the macro-F1 as `rasa test
    nlu` reports it (over every label seen, predicted ones included)."""
    from sklearn.metrics import classification_report

    pairs = [(e[1], p) for e, p in zip(examples, predicted, strict=True) if e[2] == "held-out"]
    if not pairs:
        return {}, None
    truth, guess = zip(*pairs, strict=True)
    report = classification_report(truth, guess, output_dict=True, zero_division=0)
    scores = {
        label: {"f1": float(report[label]["f1-score"]), "support": int(report[label]["support"])}
        for label in sorted(set(truth))
    }
    return scores, float(report["macro avg"]["f1-score"])


def confusions(
    examples: Sequence[tuple[str, str, str]], predicted: Sequence[str]
) -> list[dict[str, Any]]:
    """The (label, predicted) pairs that differ, most frequent first, with a few examples."""
    counts: Counter[tuple[str, str]] = Counter()
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (text, label, source), guess in zip(examples, predicted, strict=True):
        if guess != label:
            counts[(label, guess)] += 1
            sources[(label, guess)].add(source)
            if len(found[(label, guess)]) < EXAMPLES:
                found[(label, guess)].append(text)
    return [
        {
            "label": label,
            "predicted": guess,
            "count": count,
            "examples": found[(label, guess)],
            "sources": sorted(sources[(label, guess)]),
        }
        for (label, guess), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[
            :CONFUSED_PAIRS
        ]
    ]


def false_alarms(safety: Sequence[Result]) -> int:
    """Careers questions of the safety messages given the emergency advice."""
    return sum(not r.passed for r in safety if "emergency" not in r.case.tags)


def judge(sets: Sets, answers: dict[str, Answers]) -> dict[str, Any]:
    """Side by side: sets, newly passing and failing, intents, confusions, gates, refusals."""
    live, new = answers["live"], answers["candidate"]
    named = [
        ("conversation set", live.conversations, new.conversations),
        ("saved test conversations", live.saved, new.saved),
        ("safety messages", live.safety, new.safety),
    ]
    newly_passing, newly_failing, refusals = [], [], []
    for name, before, after in named:
        for old, now in zip(before, after, strict=True):
            if now.passed and not old.passed:
                newly_passing.append(_case(name, now))
            elif old.passed and not now.passed:
                newly_failing.append(_case(name, now))
                case = now.case
                if name == "safety messages":
                    if "emergency" in case.tags:
                        refusals.append(
                            f"emergency {case.id} ({case.turns[0]!r}) is no longer told to call 999"
                        )
                elif case.kind in MUST_NOT_REGRESS:
                    refusals.append(
                        f"{case.kind} case {case.id} ({name}) passes on the live model and fails "
                        f"on the candidate: {'; '.join(now.problems)}"
                    )
                elif name == "saved test conversations":
                    refusals.append(
                        f"saved test {case.id} passes on the live model and fails on the "
                        f"candidate: {'; '.join(now.problems)}"
                    )
    alarms = {side: false_alarms(answers[side].safety) for side in SIDES}
    if alarms["candidate"] > alarms["live"]:
        refusals.append(
            f"the emergency advice goes to {alarms['candidate']} careers questions of the safety "
            f"messages, {alarms['live']} on the live model"
        )
    scores = {side: intent_scores(sets.nlu, answers[side].predicted) for side in SIDES}
    intents = [
        {
            "intent": intent,
            "support": info["support"],
            "live": scores["live"][0].get(intent, {}).get("f1"),
            "candidate": info["f1"],
        }
        for intent, info in scores["candidate"][0].items()
    ]
    correct = {
        side: [
            sum(e[1] == p for e, p in zip(sets.nlu, answers[side].predicted, strict=True)),
            len(sets.nlu),
        ]
        for side in SIDES
    }
    gates = []
    conversation_gate = evaluation.gate_passes(new.conversations)
    passed, total = _passed(new.conversations)
    gates.append(
        {
            "name": f"conversation set: {evaluation.PASS_RATE:.0%} pass, and every "
            "honest-unknown and safety case",
            "passed": conversation_gate,
            "detail": f"candidate {passed}/{total}",
        }
    )
    macro = scores["candidate"][1]
    nlu_gate = macro is not None and macro >= MACRO_F1_GATE
    gates.append(
        {
            "name": f"held-out NLU examples: macro-F1 at least {MACRO_F1_GATE}",
            "passed": nlu_gate,
            "detail": "no example" if macro is None else f"candidate {macro:.3f}",
        }
    )
    refusals += [f"the {g['name']} gate fails ({g['detail']})" for g in gates if not g["passed"]]
    return {
        "sets": [
            {"name": name, "live": _passed(before), "candidate": _passed(after)}
            for name, before, after in named
        ]
        + [
            {
                "name": "held-out NLU examples and console labels (intent right)",
                "live": correct["live"],
                "candidate": correct["candidate"],
            }
        ],
        "newly_passing": newly_passing,
        "newly_failing": newly_failing,
        "intents": intents,
        "macro_f1": {side: scores[side][1] for side in SIDES},
        "confusions": {side: confusions(sets.nlu, answers[side].predicted) for side in SIDES},
        "gates": gates,
        "false_alarms": alarms,
        "refusals": refusals,
    }


class Stage:
    """How far each model has got, written to the candidate's row every few seconds."""

    def __init__(self, registry: Registry, model_id: str, total: int, out: TextIO) -> None:
        self.registry, self.model_id, self.total, self.out = registry, model_id, total, out
        self.done = dict.fromkeys(SIDES, 0)
        self.lock = threading.Lock()
        self.written = 0.0

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)
        self.registry.update_model(self.model_id, compare_stage=text[:200])

    def tick(self, side: str) -> Callable[[], None]:
        def one() -> None:
            with self.lock:
                self.done[side] += 1
                if time.monotonic() - self.written < STAGE_EVERY_S:
                    return
                self.written = time.monotonic()
                text = " · ".join(f"{s}: {self.done[s]} of {self.total}" for s in SIDES)
            self.registry.update_model(self.model_id, compare_stage=f"asking both models: {text}")

        return one


def compare(
    registry: Registry,
    settings: Settings,
    model_id: str,
    sets: Sets,
    out: TextIO,
) -> dict[str, Any]:
    live = registry.live()
    paths = registry.paths
    workdir = paths.workdir(model_id)
    workdir.mkdir(parents=True, exist_ok=True)
    stage = Stage(registry, model_id, sets.size, out)
    started = time.monotonic()
    stage.say(f"starting Rasa with the live model ({live.name}) and with {model_id}")
    models = {"live": live.path, "candidate": paths.archive(model_id)}
    with two_assistants(models, workdir, settings.role_store_url) as running:
        stage.say(f"asking both models {sets.size} things each")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {
                side: pool.submit(answer, sets, running.urls[side], running.token, stage.tick(side))
                for side in SIDES
            }
            answers = {side: future.result() for side, future in futures.items()}
    result = judge(sets, answers)
    result.update(
        live=live.name,
        live_id=live.id,
        candidate=model_id,
        seconds=time.monotonic() - started,
    )
    return result


def report(result: dict[str, Any], out: TextIO) -> None:
    print(f"\n{'':<58}{'live':>10}{'candidate':>11}", file=out)
    for row in result["sets"]:
        live, new = row["live"], row["candidate"]
        print(f"{row['name']:<58}{live[0]:>6}/{live[1]:<4}{new[0]:>6}/{new[1]:<4}", file=out)
    for title, key in (("newly passing", "newly_passing"), ("newly failing", "newly_failing")):
        print(f"\n{title} ({len(result[key])}):", file=out)
        for case in result[key]:
            print(
                f"  {case['id']} ({case['set']}, {case['kind']}): {case['turns'][-1]!r}", file=out
            )
    macro = result["macro_f1"]
    shown = {s: "-" if macro[s] is None else f"{macro[s]:.3f}" for s in SIDES}
    print(f"\nmacro-F1: live {shown['live']}, candidate {shown['candidate']}", file=out)
    for row in result["intents"]:
        before = "-" if row["live"] is None else f"{row['live']:.2f}"
        print(f"  {row['intent']:<32} {before:>5} {row['candidate']:>6.2f}", file=out)
    print("\nmost confused (candidate): label -> predicted", file=out)
    for pair in result["confusions"]["candidate"]:
        print(
            f"  {pair['label']} -> {pair['predicted']} x{pair['count']}: {pair['examples'][0]!r}",
            file=out,
        )
    for gate in result["gates"]:
        verdict = "passes" if gate["passed"] else "FAILS"
        print(f"gate {verdict}: {gate['name']} ({gate['detail']})", file=out)
    for reason in result["refusals"]:
        print(f"refused: {reason}", file=out)


def main(
    settings: Settings,
    model_id: str,
    by: str,
    conversations_dir: Path,
    out: TextIO,
    safety: Path = SAFETY_SET,
    nlu: Path = NLU_SET,
) -> int:
    """Compare, record, report; 0 when the candidate may be promoted, 1 when it may not,
    2 when the comparison could not be made."""
    registry = Registry.from_settings(settings)
    registry.create_tables()
    reap(registry)
    record = registry.model(model_id)
    if record is None or record.status != READY:
        state = "no such model" if record is None else f"it is {record.status}"
        print(f"error: {model_id} is not a trained candidate ({state})", file=sys.stderr)
        return 2
    busy = [
        m
        for m in registry.models()
        if m.compare_status == RUNNING
        and m.compare_pid != os.getpid()  # the console marks it running before it starts
        and is_running(m.host, m.compare_pid)
    ]
    if busy:
        print(f"error: {busy[0].id} is being compared: one comparison at a time", file=sys.stderr)
        return 2
    live = registry.live()
    registry.update_model(
        model_id,
        compare_status=RUNNING,
        compare_stage="loading the sets",
        compare_pid=os.getpid(),
        compare_error=None,
        host=record.host or socket.gethostname(),
    )
    try:
        sets = load_sets(registry, conversations_dir, safety, nlu)
        result = compare(registry, settings, model_id, sets, out)
    except BaseException as exc:
        registry.update_model(
            model_id, compare_status=FAILED, compare_error=f"{type(exc).__name__}: {exc}"
        )
        if not isinstance(exc, Exception):
            raise
        print(f"error: the comparison failed: {exc}", file=sys.stderr)
        return 2
    promotable = not result["refusals"]
    registry.update_model(
        model_id,
        compare_status=DONE,
        compare_stage="compared",
        compared_at=utcnow(),
        compared_by=by,
        compared_with=live.id or live.sha256,
        comparison=json.dumps(result),
        promotable=promotable,
    )
    report(result, out)
    print(
        f"{model_id}: {'promotable' if promotable else 'refused'} "
        f"(compared with {live.name} in {result['seconds']:.0f} s)",
        file=out,
    )
    return 0 if promotable else 1
