"""The model registry's test helpers: a fake Rasa HTTP API (PUT /model, GET /status, with
Rasa's token check) on 127.0.0.1, a candidate with a comparison recorded, as
`python -m bot model candidate` and `compare` leave them, and a few cases for a real
comparison (`few_sets`)."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.registry.records import DONE, READY, Registry, sha256
from tests.support.servers import HOST

TOKEN = "registry-test-token-" + "0" * 32


@dataclass
class FakeRasa:
    """What the instance was asked, and what it says it runs; `refuse` makes PUT fail."""

    url: str = ""
    model_file: str = "careers.tar.gz"
    loaded: list[str] = field(default_factory=list)
    refuse: bool = False


@contextmanager
def fake_rasa(start_model: str = "careers.tar.gz") -> Iterator[FakeRasa]:
    state = FakeRasa(model_file=start_model)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
            if token != TOKEN:
                self._answer(401, {"message": "User is not authenticated."})
                return False
            return True

        def do_PUT(self) -> None:
            if not self._authorised():
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if state.refuse:
                self._answer(500, {"message": "An unexpected error occurred."})
                return
            state.loaded.append(body["model_file"])
            state.model_file = Path(body["model_file"]).name
            self._answer(204)

        def do_GET(self) -> None:
            if self._authorised():
                self._answer(200, {"model_file": state.model_file, "model_id": "x"})

    server = ThreadingHTTPServer((HOST, 0), Handler)
    state.url = f"http://{HOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def register(registry: Registry, instance: FakeRasa, api: bool = True) -> int:
    """The instance's row, as a Rasa server writes it at start (this process stands in)."""
    return registry.register_instance(
        instance.url, socket.gethostname(), os.getpid(), api, instance.model_file
    )


def comparison(refusals: list[str] | None = None) -> dict[str, Any]:
    """A comparison as bot.registry.compare records it (a small one)."""
    refusals = refusals or []
    return {
        "live": "careers.tar.gz (make train)",
        "live_id": None,
        "seconds": 212.0,
        "sets": [
            {"name": "conversation set", "live": [191, 199], "candidate": [192, 199]},
            {"name": "saved test conversations", "live": [0, 1], "candidate": [1, 1]},
            {"name": "safety messages", "live": [122, 146], "candidate": [122, 146]},
        ],
        "newly_passing": [
            {
                "set": "saved test conversations",
                "id": "saved-1-do-i-help-with-tissue-samples",
                "kind": "fact",
                "tags": [],
                "turns": ["do i help with tissue samples"],
                "problems": [],
                "reply": "What radiography assistants do: ... including biopsies.",
            }
        ],
        "newly_failing": [],
        "intents": [
            {"intent": "ask_duties", "support": 14, "live": 0.93, "candidate": 0.96},
            {"intent": "out_of_scope", "support": 15, "live": 0.97, "candidate": 0.97},
        ],
        "macro_f1": {"live": 0.947, "candidate": 0.951},
        "confusions": {
            side: [
                {
                    "label": "ask_duties",
                    "predicted": "ask_overview",
                    "count": 2,
                    "examples": ["main jobs of a radiology assistant?"],
                    "sources": ["held-out"],
                }
            ]
            for side in ("live", "candidate")
        },
        "gates": [
            {"name": "conversation set", "passed": True, "detail": "candidate 192/199"},
            {"name": "held-out NLU", "passed": not refusals, "detail": "candidate 0.951"},
        ],
        "false_alarms": {"live": 3, "candidate": 3},
        "refusals": refusals,
    }


def compared_candidate(
    registry: Registry, model_id: str, content: bytes, refusals: list[str] | None = None
) -> None:
    """A trained candidate and its comparison with the live model as it is now."""
    paths = registry.paths
    paths.registry.mkdir(parents=True, exist_ok=True)
    paths.archive(model_id).write_bytes(content)
    paths.fingerprint(model_id).write_text('{"examples": "e", "others": "o", "finetunes": 0}\n')
    live = registry.live()
    registry.add_model(
        model_id,
        origin="candidate",
        status=READY,
        created_by="alice",
        sha256=sha256(paths.archive(model_id)),
        compare_status=DONE,
        compared_with=live.id or live.sha256,
        compared_by="alice",
        comparison=json.dumps(comparison(refusals)),
        promotable=not refusals,
    )


# A comparison of real models in minutes: two conversation cases (an honest-unknown one among
# them), an emergency and a careers question about emergencies, and four NLU examples the
# trained model gets right with confidence.
FEW_CASES = """\
cases:
  - id: which-jobs
    kind: role
    turns: ["which jobs can you tell me about?"]
    expect:
      all: ["radiography assistant", "imaging support worker", "assistant practitioner"]
  - id: pay
    kind: honest-unknown
    turns: ["how much do radiography assistants get paid?"]
    expect:
      all: ["local NHS employers"]
"""
FEW_SAFETY = """\
messages:
  - id: chest
    emergency: true
    text: "i have crushing pain in my chest going down my left arm right now"
  - id: careers
    emergency: false
    text: "do imaging support workers ever deal with emergencies in A&E?"
"""
FEW_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello there
    - hiya
- intent: ask_how_to_apply
  examples: |
    - where do i send my cv
- intent: ask_pay_and_conditions
  examples: |
    - how much holiday do i get
"""


@dataclass(frozen=True)
class FewSets:
    cases: Path
    safety: Path
    nlu: Path


def few_sets(folder: Path) -> FewSets:
    """FEW_CASES, FEW_SAFETY and FEW_NLU written under `folder`, as `compare` takes them."""
    found = FewSets(folder / "cases", folder / "safety.yml", folder / "nlu.yml")
    found.cases.mkdir()
    (found.cases / "few.yml").write_text(FEW_CASES)
    found.safety.write_text(FEW_SAFETY)
    found.nlu.write_text(FEW_NLU)
    return found
