"""Test conversations saved from the log: the pre-filled phrases, saving (masked, checked by
bot.evaluation's parser), the pages, and the export in tests/conversations' format."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot import evaluation
from bot.cli import main
from bot.review import conversations_page, saved_tests, tests_page, transcript_page
from bot.review.console import LOG
from bot.review.conversations_page import Filters
from bot.review.database import ConversationLog
from bot.store import SqlRoleStore
from tests.support.review import AP_ENTRY, DUTIES, csrf_token, fill_saveable, log_in


@pytest.fixture
async def conversation(log: ConversationLog, sqlite_url: str) -> int:
    await fill_saveable(sqlite_url)
    return conversations_page.conversations(log, Filters()).rows[0].id


def test_a_phrase_is_what_only_that_fact_says(memory_store: SqlRoleStore) -> None:
    facts = {f.key: f for f in memory_store.all_facts()}
    avoid = saved_tests._role_words(memory_store)

    def phrase(key: str) -> str:
        return saved_tests.distinctive_phrase(facts[key], list(facts.values()), avoid)

    assert phrase("entry-none-formal-gcses") == "no formal entry requirements"
    assert phrase("entry-ap-further-qualifications") == "need further qualifications"
    assert phrase("apply-local-employers") == "contact local nhs employers"
    for key, fact in facts.items():  # each is in its fact and in no other
        found = phrase(key)
        assert found in evaluation.normalise(fact.text)
        others = [evaluation.normalise(f.text) for k, f in facts.items() if f.text != fact.text]
        assert not any(found in other for other in others), (key, found)


async def test_the_draft_replays_typed_turns_and_prefills_from_the_facts(
    log: ConversationLog, conversation: int, memory_store: SqlRoleStore
) -> None:
    draft = saved_tests.suggest(transcript_page.transcript(log, conversation), memory_store)
    # The button press is no turn; the phone number was masked when it was logged.
    assert [e.text for e in draft.exchanges] == [
        "what does an AP do all day",
        "and what do they need to get in, call me on [phone]",
    ]
    assert draft.turns == 2 and draft.kind == "multi-turn"
    assert draft.reply == AP_ENTRY
    assert draft.facts == ("entry-ap-further-qualifications",)
    assert draft.must == ("need further qualifications",)
    # The other roles' answer to the same question: what a wrong reply would say.
    assert "no formal entry requirements" in draft.must_not
    assert all(p not in evaluation.normalise(AP_ENTRY) for p in draft.must_not)

    first = saved_tests.suggest(
        transcript_page.transcript(log, conversation), memory_store, turns=1
    )
    assert first.kind == "fact" and first.reply == DUTIES
    assert first.must == ("processing film images", "preparing patients for treatment")
    assert first.must_not == ()  # the duties are every role's
    with pytest.raises(ValueError, match="1 to 2 turns"):
        saved_tests.suggest(transcript_page.transcript(log, conversation), memory_store, turns=3)


async def test_a_saved_test_is_masked_checked_and_exported_as_a_case(
    log: ConversationLog, conversation: int, memory_store: SqlRoleStore
) -> None:
    draft = saved_tests.suggest(transcript_page.transcript(log, conversation), memory_store)
    with log.session() as session:
        saved = saved_tests.save(
            session,
            conversation_id=conversation,
            turns=[e.text for e in draft.exchanges],
            kind="multi-turn",
            must=["need further qualifications", "ring 07700 900123"],
            must_not=list(draft.must_not),
            by="trainer",
        )
    assert saved.case_id == f"saved-{saved.id}-what-does-an-ap-do-all-day"
    assert saved.must == ("need further qualifications", "ring [phone]")
    with log.session() as session:
        with pytest.raises(ValueError, match="must contain"):
            saved_tests.save(
                session,
                conversation_id=None,
                turns=["hi"],
                kind="fact",
                must=[" "],
                must_not=[],
                by="t",
            )
        with pytest.raises(ValueError, match="1 to 4 messages"):
            saved_tests.save(
                session,
                conversation_id=None,
                turns=["a", "b", "c", "d", "e"],
                kind="fact",
                must=["x"],
                must_not=[],
                by="t",
            )
        text = saved_tests.export_yaml(saved_tests.saved_tests(session))
    assert "07700" not in text
    path = Path(log.engine.url.database or "").with_name("saved.yml")
    path.write_text(text)
    [case] = evaluation.load_file(path)  # the conversation set's own parser
    assert case.id == saved.case_id and case.kind == "multi-turn"
    assert case.turns == (
        "what does an AP do all day",
        "and what do they need to get in, call me on [phone]",
    )
    assert case.expect.all == ("need further qualifications", "ring [phone]")
    assert "no formal entry requirements" in case.expect.none
    assert evaluation.check(case.expect, AP_ENTRY) == ["missing 'ring [phone]'"]


async def test_the_pages_save_edit_download_and_delete(
    app: web.Application, client: TestClient, conversation: int, memory_store: SqlRoleStore
) -> None:
    app[tests_page.STORE] = memory_store
    await log_in(client)
    transcript = await (await client.get(f"/conversations/{conversation}")).text()
    assert f'href="/conversations/{conversation}/test"' in transcript
    form = await (await client.get(f"/conversations/{conversation}/test")).text()
    assert "need further qualifications</textarea>" in form
    assert "no formal entry requirements" in form
    one = await (await client.get(f"/conversations/{conversation}/test?turns=1")).text()
    assert "processing film images\npreparing patients for treatment</textarea>" in one

    token = await csrf_token(client, f"/conversations/{conversation}/test")
    refused = await client.post(
        f"/conversations/{conversation}/test",
        data={"csrf_token": token, "turns": "2", "kind": "multi-turn", "must": "", "must_not": ""},
    )
    assert refused.status == 400
    assert "say at least one phrase the final reply must contain" in await refused.text()
    saved = await client.post(
        f"/conversations/{conversation}/test",
        data={
            "csrf_token": token,
            "turns": "2",
            "kind": "multi-turn",
            "must": "need further qualifications\n\n",
            "must_not": "no formal entry requirements",
        },
        allow_redirects=False,
    )
    assert saved.status == 303
    match = re.fullmatch(r"/tests\?saved=(\d+)#test-\d+", saved.headers["Location"])
    assert match is not None
    test_id = match.group(1)
    listing = await (await client.get("/tests")).text()
    assert "saved-" in listing and "need further qualifications" in listing
    assert "Saved test" in await (await client.get(saved.headers["Location"])).text()

    changed = await client.post(
        f"/tests/{test_id}",
        data={
            "csrf_token": token,
            "kind": "fact",
            "must": "further qualifications",
            "must_not": "",
        },
        allow_redirects=False,
    )
    assert changed.status == 303
    download = await client.get("/tests.yml")
    cases = yaml.safe_load(await download.text())["cases"]
    assert [(c["kind"], c["expect"]) for c in cases] == [
        ("fact", {"all": ["further qualifications"]})
    ]
    assert "attachment" in download.headers["Content-Disposition"]
    bad = await client.post(
        f"/tests/{test_id}", data={"csrf_token": token, "kind": "poetry", "must": "x"}
    )
    assert bad.status == 400 and "was not changed" in await bad.text()
    gone = await client.post(f"/tests/{test_id}/delete", data={"csrf_token": token})
    assert gone.status == 200
    with app[LOG].session() as session:
        assert saved_tests.saved_tests(session) == []
    assert (await client.get("/conversations/999/test")).status == 404


async def test_the_command_saves_lists_and_exports(
    log: ConversationLog,
    conversation: int,
    sqlite_url: str,
    settings_env: pytest.MonkeyPatch,
    role_store_url: str,
    tmp_path: Path,
) -> None:
    settings_env.setenv("TRACKER_STORE_URL", sqlite_url)
    settings_env.setenv("ROLE_STORE_URL", role_store_url)
    out = io.StringIO()
    assert (
        main(["review", "tests", "save", str(conversation), "--turns", "2", "--by", "ci"], out) == 0
    )
    assert "must contain: ['need further qualifications']" in out.getvalue()
    assert main(["review", "tests", "list"], out) == 0
    target = tmp_path / "saved.yml"
    assert main(["review", "tests", "export", "--out", str(target)], out) == 0
    [case] = evaluation.load_file(target)
    assert case.expect.all == ("need further qualifications",)
    assert main(["review", "tests", "save", "999"], out) == 1
