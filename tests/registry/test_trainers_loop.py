"""The trainers' loop end to end, as a trainer does it (issue 21): a visitor's message the live
model misunderstands is logged by a running assistant; in the review console the trainer
relabels it and saves the conversation as a test; `python -m bot model candidate` trains a
candidate (few epochs), `compare` finds the saved test newly passing and nothing safety-related
failing, `promote` switches the running assistant while a second conversation is in progress
(its next reply comes from the new model: Rasa says which model it runs, and the reply now
answers the message), and `rollback` puts the old model back (the misunderstanding returns).

One Rasa server answers throughout; the comparison starts its own two (a few cases only).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

from bot import serve
from bot.registry.records import DONE, PROMOTE, ROLLBACK, Registry
from bot.settings import Settings
from tests.support.fixtures import SENDER_ID_KEY
from tests.support.http import Conversation, get, say
from tests.support.registry import TOKEN, few_sets
from tests.support.review import SECRET, TRAINER, ConsoleSession, add_trainer
from tests.support.servers import ARTIFACTS, BotCommand, free_port

# Falls back with the live model (no intent near 0.55), whose answer this is not.
MISUNDERSTOOD = "who vouches for an AP"
RIGHT_INTENT = "ask_accreditation"
RIGHT_ANSWER = "Society of Radiographers"
# Few epochs keep the training to minutes; the relabelled message is learned all the same.
EPOCHS = "15"
TRAINING_TIMEOUT_S = 1800.0


def model_file(rasa_url: str) -> str:
    """The archive the Rasa server says it runs (GET /status, with the API token)."""
    reply = get(f"{rasa_url}/status?token={TOKEN}")
    assert reply.status == 200, reply
    found: str = reply.json()["model_file"]
    return found


def relabel_and_save_as_test(console: ConsoleSession) -> str:
    """The console's steps: find the conversation, relabel the message, save it as a test;
    returns the saved case's id as the export names it."""
    console.log_in()
    listing = console.send("/?" + "q=vouches")
    assert listing.status == 200, listing
    [conversation] = set(re.findall(r'href="/conversations/(\d+)[?"]', listing.body))
    page = f"/conversations/{conversation}"
    [message] = re.findall(
        r'action="/messages/(\d+)/label" class="relabel"', console.send(page).body
    )
    labelled = console.submit(page, f"/messages/{message}/label", {"label": RIGHT_INTENT})
    assert labelled.status == 303, labelled
    assert f"labelled {RIGHT_INTENT}" in console.send(page).body

    form = f"{page}/test"
    assert RIGHT_ANSWER not in console.send(form).body  # the logged reply lacks it
    saved = console.submit(
        form, form, {"turns": "1", "kind": "fact", "must": RIGHT_ANSWER, "must_not": ""}
    )
    assert saved.status == 303, saved
    exported = console.send("/tests.yml")
    assert MISUNDERSTOOD in exported.body and RIGHT_ANSWER in exported.body, exported.body
    [case_id] = re.findall(r"id: (saved-\S+)", exported.body)
    return case_id


def test_a_misunderstood_message_is_fixed_live_and_rolled_back(
    live_registry: Registry,
    live_settings: Settings,
    role_store_url: str,
    cli: BotCommand,
    tmp_path: Path,
) -> None:
    registry = live_registry
    env = {
        "TRACKER_STORE_URL": live_settings.tracker_store_url,
        "ROLE_STORE_URL": role_store_url,
        "SENDER_ID_KEY": SENDER_ID_KEY,
        "MODELS_DIR": str(registry.paths.models_dir),
        "RASA_API_TOKEN": TOKEN,
        "REVIEW_SECRET": SECRET,
    }
    few = few_sets(tmp_path)
    logs = ARTIFACTS / "logs"
    ports = serve.Ports(rasa=free_port(), actions=free_port(), review=free_port())
    with serve.assistant(ports, model=registry.paths.live, log_dir=logs, extra_env=env) as running:
        rasa = running.rasa_url
        assert model_file(rasa) == "careers.tar.gz"
        first = say(rasa, "visitor-1", MISUNDERSTOOD)
        assert first.answered and RIGHT_ANSWER not in first.text, first.text

        add_trainer(env)
        with serve.review_console(ports.review, log_dir=logs, extra_env=env) as console_url:
            case_id = relabel_and_save_as_test(ConsoleSession(console_url))

        trained = cli(
            "model", "candidate", "--epochs", EPOCHS, "--by", TRAINER,
            env=env, timeout=TRAINING_TIMEOUT_S,
        )  # fmt: skip
        assert trained.returncode == 0, trained.stdout + trained.stderr
        candidate = trained.stdout.split()[-1]
        record = registry.model(candidate)
        assert record is not None and record.new_labels >= 1, record

        compared = cli(
            "model", "compare", candidate, "--by", TRAINER,
            "--conversations", str(few.cases), "--safety", str(few.safety), "--nlu", str(few.nlu),
            env=env, timeout=TRAINING_TIMEOUT_S,
        )  # fmt: skip
        record = registry.model(candidate)
        assert record is not None and record.comparison is not None, compared.stdout
        result = json.loads(record.comparison)
        assert [c["id"] for c in result["newly_passing"]] == [case_id], result
        regressed = [
            c for c in result["newly_failing"] if c["kind"] in ("safety", "honest-unknown")
        ]
        assert regressed == [] and result["refusals"] == [], result
        assert result["false_alarms"]["candidate"] <= result["false_alarms"]["live"]
        assert (compared.returncode, record.promotable) == (0, True), compared.stdout

        # A second visitor is mid-conversation when the trainer promotes.
        second = Conversation(rasa, "visitor-2")
        assert second.text("tell me what an AP does")
        promoted: list[subprocess.CompletedProcess[str]] = []
        promoting = threading.Thread(
            target=lambda: promoted.append(
                cli("model", "promote", candidate, "--by", TRAINER, env=env)
            )
        )
        promoting.start()
        meanwhile = []
        while promoting.is_alive():
            meanwhile.append(say(rasa, "visitor-3", "hello").answered)
        promoting.join()
        [done] = promoted
        assert done.returncode == 0, done.stdout + done.stderr
        assert meanwhile and all(meanwhile), meanwhile
        assert model_file(rasa) == f"{candidate}.tar.gz"
        assert RIGHT_ANSWER in second.text(MISUNDERSTOOD)  # the new model's reply

        rolled = cli("model", "rollback", "--by", TRAINER, env=env)
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        previous = registry.live().id
        assert previous is not None and model_file(rasa) == f"{previous}.tar.gz"
        assert RIGHT_ANSWER not in second.text(MISUNDERSTOOD)  # the old model again

    history = [(s.action, s.model_id, s.by, s.status) for s in registry.switches()]
    assert history == [(ROLLBACK, previous, TRAINER, DONE), (PROMOTE, candidate, TRAINER, DONE)]
