"""The content in data/roles is the page, the whole page and nothing but the page."""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.store import TOPICS, Content, ContentError, read_content
from bot.store.content import (
    closest,
    normalise_name,
    page_sentences,
    squash,
    uncovered_sentences,
)
from tests.support.fixtures import SEED_PAGE

ROLES_YML = (PROJECT_ROOT / "data" / "roles" / "roles.yml").read_text()
FACTS_YML = (PROJECT_ROOT / "data" / "roles" / "nhs-careers-radiography-assistants.yml").read_text()


def test_snapshot_is_the_seed_page(content: Content) -> None:
    assert SEED_PAGE.is_file(), f"the seed page is missing: {SEED_PAGE}"
    (source,) = content.sources
    assert source.snapshot.read_bytes() == SEED_PAGE.read_bytes()


def test_every_quote_occurs_verbatim_in_the_seed_page(content: Content) -> None:
    page = squash(SEED_PAGE.read_text())
    missing = [f.quote for f in content.facts if f.quote not in page]
    assert missing == []
    assert len(content.facts) >= 20


def test_every_fact_sentence_of_the_page_is_covered(content: Content) -> None:
    (source,) = content.sources
    assert uncovered_sentences(source, content.facts) == []


@pytest.mark.parametrize("index", range(26))
def test_removing_a_fact_uncovers_its_sentence(content: Content, index: int) -> None:
    """The coverage check has teeth: drop any fact whose sentence no other fact quotes."""
    fact = content.facts[index]
    others = content.facts[:index] + content.facts[index + 1 :]
    (source,) = content.sources
    uncovered = uncovered_sentences(source, others)
    if any(squash(o.quote) == squash(fact.quote) for o in others):
        assert uncovered == []
    else:
        assert uncovered == page_sentences(fact.quote)


def test_all_facts_are_exercised_by_the_removal_test(content: Content) -> None:
    assert len(content.facts) == 26


def test_not_facts_are_only_headings_and_links(content: Content) -> None:
    (source,) = content.sources
    for sentence in source.not_facts:
        assert not re.search(r"\b(must|will|should|may|can)\b", sentence), sentence


def test_every_sentence_is_a_fact_or_listed_as_not_one(content: Content) -> None:
    (source,) = content.sources
    sentences = page_sentences(source.text)
    quoted = {squash(s) for f in content.facts for s in page_sentences(f.quote)}
    assert len(quoted) + len(source.not_facts) == len(sentences)
    assert quoted.isdisjoint(source.not_facts)


def test_role_summaries_come_from_the_page(content: Content) -> None:
    page = squash(SEED_PAGE.read_text())
    assert [r.slug for r in content.roles] == [
        "radiography-assistant",
        "imaging-support-worker",
        "assistant-practitioner",
    ]
    assert all(r.summary in page for r in content.roles)


def test_no_fact_states_pay_bands_or_hours(content: Content) -> None:
    for fact in content.facts:
        assert not re.search(r"£|\bband \d|\bhours?\b|\bsalary\b|\bpay\b", fact.text, re.I)


def test_assistant_practitioner_facts_are_theirs_alone(content: Content) -> None:
    by_quote = {f.quote: f.roles for f in content.facts}
    assert by_quote["Assistant practitioners will usually need further qualifications."] == (
        "assistant-practitioner",
    )
    accreditation = [f for f in content.facts if f.topic == "accreditation"]
    assert len(accreditation) == 4
    assert {f.roles for f in accreditation} == {("assistant-practitioner",)}


def test_assistant_practitioners_described_is_not_progression_for_others(
    content: Content,
) -> None:
    """The page describes who assistant practitioners are; it doesn't state that sentence as
    progression for radiography assistants or imaging support workers."""
    described = [f for f in content.facts if f.quote.startswith("They are usually experienced")]
    assert [(f.topic, f.roles) for f in described] == [("overview", ("assistant-practitioner",))]
    progression = [f for f in content.facts if f.topic == "progression"]
    assert [f.key for f in progression] == ["progression-study-part-time"]


def test_where_to_learn_more_about_accreditation_is_a_fact_without_a_link(
    content: Content,
) -> None:
    (pointer,) = [
        f for f in content.facts if f.quote == "For more information, visit the SOR website."
    ]
    assert (pointer.topic, pointer.roles) == ("accreditation", ("assistant-practitioner",))
    assert "Society of Radiographers" in pointer.text
    assert not re.search(r"https?:|www\.|\.org|\.uk", pointer.text)


def test_every_fact_has_an_id_and_ways_people_ask(content: Content) -> None:
    keys = [f.key for f in content.facts]
    assert len(set(keys)) == len(keys) == len(content.facts)
    for fact in content.facts:
        assert len(fact.asked_as) >= 5, fact.key
        # asked_as is how people ask, never content: no numbers, money or links.
        for wording in fact.asked_as:
            assert not re.search(r"[0-9£$€]|https?:", wording.replace("level 3", "")), wording


def test_every_topic_has_wordings_for_the_whole_topic(content: Content) -> None:
    assert sorted(t.topic for t in content.topics) == sorted(TOPICS)
    assert all(len(t.asked_as) >= 2 for t in content.topics)


def test_the_pages_own_group_wordings_mean_its_roles(content: Content) -> None:
    groups = {name: roles for g in content.groups for name in g.names for roles in [g.roles]}
    every = ("radiography-assistant", "imaging-support-worker", "assistant-practitioner")
    for wording in ("support roles", "assistant roles", "staff in assistant roles"):
        assert groups[wording] == every
    assert groups["radiography support worker"] == every[:2]
    assert "radiologist assistant" in content.not_roles


def test_normalise_name() -> None:
    assert normalise_name("  Radiographer\u2019s   Assistant! ") == "radiographers assistant"
    assert normalise_name("X-Ray assistant") == "x ray assistant"
    assert normalise_name("<script>") == "script"


# --- invalid content -----------------------------------------------------------------------


def _write(tmp_path: Path, roles: str = ROLES_YML, facts: str = FACTS_YML) -> Path:
    folder = tmp_path / "roles"
    folder.mkdir(exist_ok=True)
    (folder / "roles.yml").write_text(roles)
    (folder / "facts.yml").write_text(facts)
    return folder


def _error(tmp_path: Path, **files: str) -> ContentError:
    with pytest.raises(ContentError) as caught:
        read_content(_write(tmp_path, **files))
    return caught.value


def _facts_error(tmp_path: Path, old: str, new: str) -> ContentError:
    """_error for facts.yml with its first `old` replaced by `new`."""
    return _error(tmp_path, facts=FACTS_YML.replace(old, new, 1))


def test_copy_of_real_content_reads(tmp_path: Path, content: Content) -> None:
    copy = read_content(_write(tmp_path))
    assert [dataclasses.replace(f, path="") for f in copy.facts] == [
        dataclasses.replace(f, path="") for f in content.facts
    ]


def test_missing_field_names_file_and_key(tmp_path: Path) -> None:
    error = _facts_error(tmp_path, "    text: Processing film images.\n", "")
    assert error.path.endswith("facts.yml")
    assert error.key == "facts[5].text"
    assert "is missing" in str(error)


def test_unknown_topic(tmp_path: Path) -> None:
    error = _facts_error(tmp_path, "topic: training", "topic: salary")
    assert error.key == "facts[13].topic"
    assert "unknown topic 'salary'" in str(error)


def test_duplicate_slug(tmp_path: Path) -> None:
    roles = ROLES_YML.replace("slug: imaging-support-worker", "slug: radiography-assistant")
    error = _error(tmp_path, roles=roles)
    assert error.key == "roles[1].slug"
    assert "duplicate slug 'radiography-assistant'" in str(error)


def test_fact_without_a_source(tmp_path: Path) -> None:
    facts = FACTS_YML.split("source:\n", 1)[0] + "facts:" + FACTS_YML.split("\nfacts:", 1)[1]
    roles = ROLES_YML.replace("summary_source: http", "summary_source: nowhere http")
    error = _error(tmp_path, roles=roles, facts=facts)
    assert error.key == "facts[0]"
    assert "fact without a source" in str(error)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    error = _error(tmp_path, facts=FACTS_YML + "\n  - topic: [unclosed\n")
    assert error.path.endswith("facts.yml")
    assert error.key.startswith("line ")
    assert "malformed YAML" in str(error)


def test_quote_not_in_page(tmp_path: Path) -> None:
    error = _facts_error(
        tmp_path, "quote: A mature approach is essential.", "quote: A mature approach is optional."
    )
    assert error.key.endswith(".quote")
    assert "does not occur verbatim" in str(error)


def test_invented_number_in_text(tmp_path: Path) -> None:
    error = _facts_error(
        tmp_path,
        "text: A mature approach is essential.",
        "text: A mature approach is essential. Band 3.",
    )
    assert "states 3, which the quote does not" in str(error)


def test_unknown_role_in_a_fact(tmp_path: Path) -> None:
    error = _facts_error(tmp_path, "roles: [assistant-practitioner]", "roles: [nurse]")
    assert error.key == "facts[1].roles[0]"


def test_name_used_by_two_roles(tmp_path: Path) -> None:
    roles = ROLES_YML.replace("      - ISW\n", "      - ISW\n      - AP\n")
    error = _error(tmp_path, roles=roles)
    assert "'AP' already names role 'imaging-support-worker'" in str(error)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match=r"holds no \.yml content files"):
        read_content(tmp_path)


def test_duplicate_fact_id(tmp_path: Path) -> None:
    error = _facts_error(tmp_path, "- id: duty-stock\n", "- id: duty-film-images\n")
    assert "duplicate id 'duty-film-images'" in str(error)


def test_fact_without_asked_as(tmp_path: Path) -> None:
    start = FACTS_YML.index("    asked_as:", FACTS_YML.index("- id: duty-stock"))
    end = FACTS_YML.index("  - id:", start)
    error = _error(tmp_path, facts=FACTS_YML[:start] + FACTS_YML[end:])
    assert error.key.endswith(".asked_as")
    assert "is missing" in str(error)


def test_group_naming_an_unknown_role(tmp_path: Path) -> None:
    roles = ROLES_YML.replace(
        "  - roles: [radiography-assistant, imaging-support-worker]\n",
        "  - roles: [radiography-assistant, nurse]\n",
    )
    assert "unknown role 'nurse'" in str(_error(tmp_path, roles=roles))


def test_a_different_job_that_is_also_a_role_name(tmp_path: Path) -> None:
    roles = ROLES_YML + "  - radiology assistant\n"
    assert "is also a wording of radiography-assistant" in str(_error(tmp_path, roles=roles))


@pytest.mark.parametrize(
    ("word", "expected"),
    [("radiograpy", "radiography"), ("assistnt", "assistant"), ("salary", None)],
)
def test_closest_is_difflibs_best_match_and_is_remembered(word: str, expected: str | None) -> None:
    choices = frozenset({"radiography", "assistant", "practitioner", "radiographer"})
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.8)
    assert closest(word, choices, 0.8) == (close[0] if close else None) == expected
    hits = closest.cache_info().hits
    assert closest(word, choices, 0.8) == expected
    assert closest.cache_info().hits == hits + 1
