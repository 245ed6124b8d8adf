"""The read API, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.store import TOPICS, Content, FactInfo, SqlRoleStore, StoreUnavailable

URL = (
    "http://www.nhscareers.nhs.uk/explore-by-career/wider-healthcare-team/"
    "careers-in-the-wider-healthcare-team/clinical-support-staff/"
    "radiography-assistantssupport-roles/"
)
RA, ISW, AP = "radiography-assistant", "imaging-support-worker", "assistant-practitioner"


def test_roles_in_content_order(loaded_store: SqlRoleStore) -> None:
    roles = loaded_store.roles()
    assert [(r.slug, r.title, r.plural) for r in roles] == [
        (RA, "Radiography assistant", "Radiography assistants"),
        (ISW, "Imaging support worker", "Imaging support workers"),
        (AP, "Assistant practitioner", "Assistant practitioners"),
    ]
    assert roles[2].summary == "Assistant practitioners are an emerging role within the NHS."


def test_assistant_practitioner_entry_requirements(loaded_store: SqlRoleStore) -> None:
    assert loaded_store.facts(AP, "entry_requirements") == [
        FactInfo(
            topic="entry_requirements",
            text="Assistant practitioners will usually need further qualifications.",
            quote="Assistant practitioners will usually need further qualifications.",
            source_url=URL,
            source_title="NHS Careers: Radiography assistants and imaging support workers",
            roles=(AP,),
            key="entry-ap-further-qualifications",
            asked_as=(
                "extra qualifications",
                "more qualifications",
                "further qualifications",
                "additional qualifications",
                "do I need more training to be one",
            ),
        )
    ]


def test_shared_facts_apply_to_each_role(loaded_store: SqlRoleStore) -> None:
    ra = [f.text for f in loaded_store.facts(RA, "entry_requirements")]
    isw = [f.text for f in loaded_store.facts(ISW, "entry_requirements")]
    assert ra[0].startswith("There are no formal entry requirements")
    assert ra[1] == "A mature approach is essential."
    assert len(ra) == 2
    assert isw[0] == ra[0]
    assert isw[1].startswith("There is an NVQ related to imaging support workers")
    assert len(isw) == 3
    duties = loaded_store.facts(AP, "duties")
    assert len(duties) == 9
    assert duties[1].text == "Processing film images."


def test_accreditation_is_for_assistant_practitioners_only(loaded_store: SqlRoleStore) -> None:
    assert len(loaded_store.facts(AP, "accreditation")) == 4
    assert loaded_store.facts(RA, "accreditation") == []
    assert loaded_store.facts(ISW, "accreditation") == []


def test_every_role_has_facts_on_every_topic_but_accreditation(loaded_store: SqlRoleStore) -> None:
    for role in (RA, ISW, AP):
        for topic in TOPICS:
            facts = loaded_store.facts(role, topic)
            assert facts or (topic == "accreditation" and role != AP), (role, topic)
            assert all(f.source_url == URL for f in facts)


def test_unknown_topic_is_an_error(loaded_store: SqlRoleStore) -> None:
    with pytest.raises(ValueError, match="unknown topic 'pay'"):
        loaded_store.facts(AP, "pay")


def test_unknown_role_has_no_facts(loaded_store: SqlRoleStore) -> None:
    assert loaded_store.facts("nurse", "duties") == []
    assert loaded_store.role("nurse") is None


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("radiography assistants", RA),
        ("Radiography Assistant", RA),
        ("a radiographer's assistant", RA),
        ("radiografy assistant", RA),
        ("imaging support worker", ISW),
        ("the imaging support workers", ISW),
        ("ISW", ISW),
        ("AP", AP),
        ("aps", AP),
        ("assistant practitioner", AP),
        ("Assistant-Practitioners", AP),
        ("assistant-practitioner", AP),
        ("assistant practicioner", AP),
    ],
)
def test_resolve_role(loaded_store: SqlRoleStore, text: str, slug: str) -> None:
    role = loaded_store.resolve_role(text)
    assert role is not None
    assert role.slug == slug


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "nurse",
        "radiographer",
        "a",
        "ap ap",
        "<script>alert(1)</script>",
        "x" * 100_000,
        "\x00\xff",
        "assistant",
    ],
)
def test_resolve_role_rejects(loaded_store: SqlRoleStore, text: str) -> None:
    assert loaded_store.resolve_role(text) is None


@pytest.mark.parametrize(
    ("text", "slugs"),
    [
        ("support roles", [RA, ISW, AP]),
        ("staff in assistant roles", [RA, ISW, AP]),
        ("assistant roles", [RA, ISW, AP]),
        ("radiography support worker", [RA, ISW]),
        ("radiography support workers", [RA, ISW]),
        ("AP", [AP]),
    ],
)
def test_the_pages_own_wordings_resolve(
    loaded_store: SqlRoleStore, text: str, slugs: list[str]
) -> None:
    assert [r.slug for r in loaded_store.resolve_roles(text)] == slugs


@pytest.mark.parametrize(
    "text", ["radiologist assistant", "radiologist's assistants", "radiologist asistant"]
)
def test_a_different_job_never_maps_to_a_role(loaded_store: SqlRoleStore, text: str) -> None:
    """ "Radiologist assistant" is a different job, however close to "radiology assistant"."""
    assert loaded_store.resolve_roles(text) == []
    assert loaded_store.find_roles(f"what does a {text} do") == []
    assert loaded_store.not_role_named(f"what does a {text} do") is not None
    assert loaded_store.not_role_named("what does a radiology assistant do") is None


def test_find_roles_expands_groups(loaded_store: SqlRoleStore) -> None:
    found = loaded_store.find_roles("can staff in assistant roles study part-time?")
    assert [r.slug for r in found] == [RA, ISW, AP]


def test_all_facts_carry_id_wordings_and_source(loaded_store: SqlRoleStore) -> None:
    facts = loaded_store.all_facts()
    assert len(facts) == 26
    gcse = next(f for f in facts if f.key == "entry-none-formal-gcses")
    assert "how many gcses" in gcse.asked_as
    assert gcse.source.title == "NHS Careers: Radiography assistants and imaging support workers"
    assert gcse.source.url.startswith("http://www.nhscareers.nhs.uk/")
    assert set(loaded_store.topic_phrases()) == set(TOPICS)


def test_loading_over_an_older_schema_rebuilds_it(store_url: str, content: Content) -> None:
    """A store file from before a schema change (no facts.key) is rebuilt, not an error."""
    store = SqlRoleStore(store_url)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE facts (id INTEGER PRIMARY KEY, topic TEXT)")
    assert store.load(content)["facts"] == 26
    assert len(store.all_facts()) == 26
    store.engine.dispose()


def test_compare(loaded_store: SqlRoleStore) -> None:
    comparison = loaded_store.compare(RA, AP)
    assert comparison.first.slug == RA
    assert comparison.second.slug == AP
    only_ap = {f.text for f in comparison.only_second}
    only_ra = {f.text for f in comparison.only_first}
    assert "Assistant practitioners will usually need further qualifications." in only_ap
    assert {f.topic for f in comparison.only_second if f.topic == "accreditation"}
    assert any(t.startswith("There are no formal entry requirements") for t in only_ra)
    assert "Processing film images." in {f.text for f in comparison.shared}
    assert not only_ap & only_ra


def test_compare_two_roles_the_page_treats_together(loaded_store: SqlRoleStore) -> None:
    comparison = loaded_store.compare(RA, ISW)
    assert comparison.only_first == ()
    assert [f.text[:33] for f in comparison.only_second] == ["There is an NVQ related to imagin"]


def test_compare_unknown_role(loaded_store: SqlRoleStore) -> None:
    with pytest.raises(ValueError, match="unknown role 'nurse'"):
        loaded_store.compare(RA, "nurse")


def test_role_names_feed_the_entity_ruler(loaded_store: SqlRoleStore) -> None:
    names = loaded_store.role_names()
    assert list(names) == [RA, ISW, AP]
    assert "AP" in names[AP]
    assert "imaging support workers" in names[ISW]


def test_load_is_idempotent(loaded_store: SqlRoleStore, content: Content) -> None:
    before = (loaded_store.roles(), loaded_store.facts(RA, "duties"), loaded_store.fact_counts())
    assert loaded_store.load(content) == {"sources": 1, "roles": 3, "facts": 26}
    assert loaded_store.load(content) == {"sources": 1, "roles": 3, "facts": 26}
    after = (loaded_store.roles(), loaded_store.facts(RA, "duties"), loaded_store.fact_counts())
    assert after == before


def test_a_store_knows_whether_it_holds_some_content(store_url: str, content: Content) -> None:
    """What lets `store load` skip a rebuild: same content and schema, same version."""
    store = SqlRoleStore(store_url)
    assert not store.holds(content)
    store.load(content)
    assert store.holds(content)
    version = store.version()
    fewer = dataclasses.replace(content, facts=content.facts[:3])
    assert not store.holds(fewer)
    store.load(fewer)
    assert store.holds(fewer) and not store.holds(content)
    assert store.version() != version
    store.load(content)
    assert store.version() == version
    store.engine.dispose()


def test_a_changed_schema_is_not_the_same_store(
    content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.store import sql
    from bot.store.models import Base

    before = sql.content_version(content)
    monkeypatch.setattr(Base.metadata.tables["facts"].c.text.type, "length", 12345)
    assert sql.content_version(content) != before


def test_unloaded_store_is_unavailable(store_url: str) -> None:
    store = SqlRoleStore(store_url)
    with pytest.raises(StoreUnavailable, match="python -m bot store load"):
        store.roles()


def test_unreachable_server_is_unavailable() -> None:
    store = SqlRoleStore("postgresql+psycopg2://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailable):
        store.resolve_role("AP")


def test_in_memory_store(memory_store: SqlRoleStore) -> None:
    assert memory_store.resolve_role("AP") is not None
    assert len(memory_store.facts(RA, "duties")) == 9


def test_a_reader_sees_a_new_load_without_restarting(store_url: str, content: Content) -> None:
    """The action server keeps the content in memory; a `store load` elsewhere reaches it."""
    writer = SqlRoleStore(store_url)
    writer.load(content)
    reader = SqlRoleStore(store_url, refresh_seconds=0)
    assert len(reader.facts(AP, "accreditation")) == 4
    fewer = dataclasses.replace(
        content, facts=tuple(f for f in content.facts if f.key != "sor-website")
    )
    writer.load(fewer)
    assert len(reader.facts(AP, "accreditation")) == 3
    for store in (writer, reader):
        store.engine.dispose()


def test_a_reader_checks_again_only_after_its_interval(store_url: str, content: Content) -> None:
    writer = SqlRoleStore(store_url)
    writer.load(content)
    reader = SqlRoleStore(store_url, refresh_seconds=3600)
    assert len(reader.all_facts()) == 26
    writer.load(dataclasses.replace(content, facts=content.facts[:3]))
    assert len(reader.all_facts()) == 26
    for store in (writer, reader):
        store.engine.dispose()


def test_a_reader_keeps_answering_when_the_database_goes(tmp_path: Path, content: Content) -> None:
    path = tmp_path / "roles.db"
    SqlRoleStore(f"sqlite:///{path}").load(content)
    reader = SqlRoleStore(f"sqlite:///{path}", refresh_seconds=0)
    assert len(reader.roles()) == 3
    reader.engine.dispose()
    path.write_bytes(b"not a database")
    assert len(reader.roles()) == 3


def test_loads_at_the_same_time_do_not_collide(tmp_path: Path, content: Content) -> None:
    """`make run` and `make test` may load the same SQLite store at once."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'roles.db'}"
    stores = [SqlRoleStore(url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda s: s.load(content)["facts"], stores))
    assert counts == [26, 26, 26, 26]
    assert len(SqlRoleStore(url).all_facts()) == 26
