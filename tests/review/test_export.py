"""Relabelled messages exported as Rasa NLU YAML, without what is already trained or held out."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot.review import labels_page, transcript_page
from bot.review.database import ConversationLog
from bot.review.export import Labelled, build_export, normalise
from bot.store.sql import make_engine
from tests.support.review import fill, find
from tests.support.servers import BotCommand


def labelled(text: str, label: str = "ask_training") -> Labelled:
    return Labelled(text=text, label=label, sender_id="s")


def test_normalise_ignores_case_spacing_and_entity_markup() -> None:
    assert normalise("  What does an [AP](role)  do ") == "what does an ap do"


def test_export_leaves_out_trained_held_out_repeated_and_button_messages() -> None:
    found = build_export(
        [
            labelled("roughly how many months is the AP course"),
            labelled("Roughly how many   months is the AP course"),  # repeated
            labelled("HOW LONG IS THE TRAINING"),  # in data/nlu/training.yml
            labelled("what exactly is an imaging support worker", "ask_overview"),  # held out
            labelled("/feedback_helpful", "feedback_helpful"),
            labelled("is there a bus to the hospital", "out_of_scope"),
        ]
    )
    assert found.by_intent == {
        "ask_training": ["roughly how many months is the AP course"],
        "out_of_scope": ["is there a bus to the hospital"],
    }
    assert [x.text for x in found.in_training] == ["HOW LONG IS THE TRAINING"]
    assert [x.text for x in found.in_test_set] == ["what exactly is an imaging support worker"]
    assert found.repeated == 1
    text = found.yaml()
    assert "held-out test example: what exactly is an imaging support worker" in text
    data = RasaYAMLReader().reads(text)
    examples = {(m.get("intent"), m.get("text")) for m in data.intent_examples}
    assert examples == {
        ("ask_training", "roughly how many months is the AP course"),
        ("out_of_scope", "is there a bus to the hospital"),
    }


def test_an_empty_export_is_still_valid() -> None:
    assert RasaYAMLReader().reads(build_export([]).yaml()).intent_examples == []


async def test_the_export_command(tmp_path: Path, cli: BotCommand) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    await fill(url)
    log = ConversationLog(make_engine(url))
    dan = find(log, "dan")
    message = next(t.message for t in transcript_page.transcript(log, dan.id).turns if t.message)
    labels_page.set_label(log, message.id, "ask_training", "trainer")
    log.engine.dispose()
    out = tmp_path / "relabelled.yml"
    done = cli("review", "export", "--out", str(out), env={"TRACKER_STORE_URL": url})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {out}: 1 example(s) for 1 intent(s)")
    assert "- roughly how many months is the AP course" in out.read_text()
