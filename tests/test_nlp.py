"""The spaCy pipeline built from the store: lemmas, role entities, and a role added later."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot import nlp, training
from bot.store import Content, SqlRoleStore
from bot.store.content import RoleSpec


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Path:
    store = SqlRoleStore.in_memory()
    store.load(content)
    return nlp.build(store, tmp_path_factory.mktemp("spacy") / "careers_en")


def _ents(path: Path, text: str) -> list[tuple[str, str, str]]:
    import spacy

    doc = spacy.load(path)(text)
    return [(e.text, e.label_, e.ent_id_) for e in doc.ents]


def test_role_wordings_become_role_entities(pipeline_dir: Path) -> None:
    assert _ents(pipeline_dir, "Do APs or imaging support workers need GCSEs?") == [
        ("APs", "role", "assistant-practitioner"),
        ("imaging support workers", "role", "imaging-support-worker"),
        ("GCSEs", "qualification", "gcses"),
    ]
    assert _ents(pipeline_dir, "what does a RADIOGRAPHER'S ASSISTANT do") == [
        ("RADIOGRAPHER'S ASSISTANT", "role", "radiography-assistant")
    ]
    assert _ents(
        pipeline_dir, "is an x-ray assistant the same as an NVQ level 3 apprenticeship"
    ) == [
        ("x-ray assistant", "role", "radiography-assistant"),
        ("NVQ", "qualification", "nvq"),
        ("level 3 apprenticeship", "qualification", "level 3 apprenticeship"),
    ]
    assert _ents(pipeline_dir, "I want to be a nurse") == []


def test_lookup_lemmatizer_runs_without_a_downloaded_model(pipeline_dir: Path) -> None:
    import spacy

    doc = spacy.load(pipeline_dir)("studies courses trained")
    assert [t.lemma_ for t in doc] == ["study", "course", "train"]
    assert spacy.load(pipeline_dir).pipe_names == ["lemmatizer", "entity_ruler"]


def test_a_role_added_to_the_store_is_recognised_after_rebuilding(
    tmp_path: Path, content: Content
) -> None:
    new_role = RoleSpec(
        slug="mammography-assistant",
        title="Mammography assistant",
        plural="Mammography assistants",
        summary=content.roles[0].summary,
        summary_source=content.roles[0].summary_source,
        names=("mammography assistant", "mammography assistants"),
        path="test",
        key="roles[3]",
    )
    store = SqlRoleStore.in_memory()
    store.load(content)
    before_fingerprint = training.fingerprint(store)
    before = nlp.build(store, tmp_path / "before")
    assert _ents(before, "what do mammography assistants do") == []

    store.load(dataclasses.replace(content, roles=(*content.roles, new_role)))
    after = nlp.build(store, tmp_path / "after")
    assert _ents(after, "what do mammography assistants do") == [
        ("mammography assistants", "role", "mammography-assistant")
    ]
    assert training.fingerprint(store) != before_fingerprint


def test_rasa_components_extract_the_role_entity(pipeline_dir: Path) -> None:
    """Rasa's own SpacyNLP, SpacyTokenizer and SpacyEntityExtractor over the built pipeline."""
    from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
    from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
    from rasa.nlu.utils.spacy_utils import SpacyNLP
    from rasa.shared.nlu.training_data.message import Message

    spacy_nlp = SpacyNLP(SpacyNLP.load_model(str(pipeline_dir)), SpacyNLP.get_default_config())
    model = spacy_nlp.provide()
    message = Message.build(text="entry reqs for assistant practitioners?")
    spacy_nlp.process([message], model)
    SpacyTokenizer(SpacyTokenizer.get_default_config()).process([message])
    extractor = SpacyEntityExtractor({"dimensions": ["role"]})
    extractor.process([message], model)
    entities = [(e["entity"], e["value"]) for e in message.get("entities")]
    assert entities == [("role", "assistant practitioners")]
