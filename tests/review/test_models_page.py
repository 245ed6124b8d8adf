"""The console's Models pages over registry rows made in the test: the live model, a candidate
being trained (its progress), a failed one (why), and starting a training, which the console
hands to `python -m bot model candidate` in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.registry import candidate
from bot.registry.records import FAILED, READY, TRAINING
from bot.review import logins_page, models_page
from bot.review.app import create_app
from bot.review.console import domain_intents
from bot.review.database import ConversationLog
from bot.settings import Settings
from tests.support.registry import compared_candidate
from tests.support.review import PASSWORD, SECRET, TRAINER, csrf_token, log_in

TRAINING_ID = "20261203-101500-abcd"
FAILED_ID = "20261203-091500-0123"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    found = tmp_path / "models"
    found.mkdir()
    (found / "careers.tar.gz").write_bytes(b"the live model")
    return found


@pytest.fixture
async def client(
    log: ConversationLog, sqlite_url: str, models_dir: Path
) -> AsyncIterator[TestClient]:
    settings = Settings(tracker_store_url=sqlite_url, review_secret=SECRET, models_dir=models_dir)
    logins_page.set_trainer(log, TRAINER, PASSWORD)
    app = create_app(settings, log=log, intents=domain_intents())
    async with TestClient(TestServer(app)) as found:
        await log_in(found)
        yield found


def _registry(client: TestClient) -> models_page.Registry:
    return _app(client)[models_page.REGISTRY]


def _app(client: TestClient) -> web.Application:
    return cast(TestServer, client.server).app


async def test_the_page_shows_the_live_model_and_a_training_in_progress(
    client: TestClient,
) -> None:
    registry = _registry(client)
    registry.add_model(
        TRAINING_ID,
        origin="candidate",
        status=TRAINING,
        created_by="alice",
        stage="training DIETClassifier: epoch 12 of 30",
        progress=0.4,
        pid=os.getpid(),
        host=candidate.socket.gethostname(),
    )
    page = await (await client.get("/models")).text()
    assert "careers.tar.gz (make train)" in page
    assert f'<a href="/models/{TRAINING_ID}">{TRAINING_ID}</a> is being trained' in page
    # It reloads while something runs, only when asked to (WCAG 2.2.1), and says how to stop.
    assert 'http-equiv="refresh"' not in page and '<a href="?watch=1">' in page
    watched = await (await client.get("/models?watch=1")).text()
    assert '<meta http-equiv="refresh" content="3">' in watched and "Stop reloading" in watched
    assert "Train a candidate</button>" not in page  # one at a time
    detail = await (await client.get(f"/models/{TRAINING_ID}")).text()
    assert "training DIETClassifier: epoch 12 of 30 (40%)" in detail
    assert '<progress max="1" value="0.4"' in detail

    token = await csrf_token(client, "/models")
    refused = await client.post("/models/candidate", data={"csrf_token": token})
    assert refused.status == 409
    assert f"Candidate {TRAINING_ID} is being trained" in await refused.text()


async def test_a_failed_training_shows_its_error(client: TestClient) -> None:
    registry = _registry(client)
    registry.add_model(
        FAILED_ID,
        origin="candidate",
        status=FAILED,
        created_by="alice",
        error="Rasa's training failed (exit 1): InvalidConfigException: <b>bad</b>",
    )
    detail = await (await client.get(f"/models/{FAILED_ID}")).text()
    assert "InvalidConfigException: &lt;b&gt;bad&lt;/b&gt;" in detail
    assert 'role="alert"' in detail and "watch=1" not in detail
    ended = await (await client.get(f"/models/{FAILED_ID}?watch=1")).text()
    assert 'http-equiv="refresh"' not in ended  # nothing runs: nothing to watch
    assert (await client.get("/models/no-such-model")).status == 404


async def test_training_starts_the_command_in_a_process_of_its_own(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, models_dir: Path, sqlite_url: str
) -> None:
    started: list[tuple[list[str], Path, dict[str, str]]] = []

    def spawn(arguments: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        started.append((arguments, log, env))
        return subprocess.Popen([sys.executable, "-c", "print('error: the store is not loaded')"])

    monkeypatch.setattr(candidate, "spawn", spawn)
    token = await csrf_token(client, "/models")
    response = await client.post(
        "/models/candidate", data={"csrf_token": token, "finetune": "1"}, allow_redirects=False
    )
    assert response.status == 303
    model_id = response.headers["Location"].removeprefix("/models/")
    [(arguments, log, env)] = started
    assert arguments == ["model", "candidate", "--by", TRAINER, "--id", model_id, "--finetune"]
    assert log == models_dir / "registry" / model_id / "console.log"
    assert env["TRACKER_STORE_URL"] == sqlite_url and env["MODELS_DIR"] == str(models_dir)
    _app(client)[models_page.JOBS][model_id].wait()
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("error: the store is not loaded\n")
    page = await (await client.get(f"/models/{model_id}")).text()
    assert "The training could not start." in page and "the store is not loaded" in page


async def test_a_ready_candidate_can_be_compared(client: TestClient) -> None:
    _registry(client).add_model(
        FAILED_ID.replace("0123", "4567"), origin="candidate", status=READY, created_by="bob"
    )
    page = await (await client.get(f"/models/{FAILED_ID.replace('0123', '4567')}")).text()
    assert "Compare with the live model</button>" in page
    assert "Not promotable: compare it with the live model first" in page


COMPARED = "20261203-111500-cafe"


def _spawned(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []

    def spawn(arguments: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        started.append(arguments)
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])

    monkeypatch.setattr(candidate, "spawn", spawn)
    return started


async def test_a_refused_candidate_shows_why_and_cannot_be_promoted(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _spawned(monkeypatch)
    registry = _registry(client)
    reason = "emergency st-chest-pain-gym ('guy at the gym ...') is no longer told to call 999"
    compared_candidate(registry, COMPARED, b"candidate", refusals=[reason])
    page = await (await client.get(f"/models/{COMPARED}")).text()
    assert "Promotion refused:" in page and "is no longer told to call 999" in page
    assert f"Promote {COMPARED}</button>" not in page
    token = await csrf_token(client, f"/models/{COMPARED}")
    refused = await client.post(f"/models/{COMPARED}/promote", data={"csrf_token": token})
    assert refused.status == 400
    assert "the comparison refused it: emergency st-chest-pain-gym" in await refused.text()
    assert started == []

    compare = await client.post(
        f"/models/{COMPARED}/compare", data={"csrf_token": token}, allow_redirects=False
    )
    assert compare.status == 303
    assert started == [["model", "compare", COMPARED, "--by", TRAINER]]
    running = await (await client.get(f"/models/{COMPARED}")).text()
    assert "Comparing with the live model" in running and '<a href="?watch=1">' in running
    watched = await (await client.get(f"/models/{COMPARED}?watch=1")).text()
    assert 'http-equiv="refresh"' in watched


async def test_a_promotable_candidate_is_promoted_by_the_command(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _spawned(monkeypatch)
    registry = _registry(client)
    compared_candidate(registry, COMPARED, b"candidate")
    page = await (await client.get(f"/models/{COMPARED}")).text()
    assert "Every gate passes" in page and f"Promote {COMPARED}</button>" in page
    token = await csrf_token(client, f"/models/{COMPARED}")
    done = await client.post(
        f"/models/{COMPARED}/promote", data={"csrf_token": token}, allow_redirects=False
    )
    assert done.status == 303 and done.headers["Location"] == "/models"
    assert started == [["model", "promote", COMPARED, "--by", TRAINER]]
    # Nothing to roll back to yet: the live model was not made live by a promotion.
    assert (await client.post("/models/rollback", data={"csrf_token": token})).status == 400
