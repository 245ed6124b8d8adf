"""The console's side of the privacy work: a conversation erased on request, with a
confirmation; every transcript opened, export made and erasure done is in the audit trail,
shown at /audit, with pseudonyms and counts but nothing a conversation said."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.review import conversations_page, logins_page
from bot.review.console import LOG
from bot.review.conversations_page import Filters
from tests.support.review import TRAINER, csrf_token, find
from tests.support.tracking import dump


def _audit(app: web.Application) -> list[tuple[str, str, str, str | None]]:
    rows = logins_page.audit(app[LOG]).rows
    return [(r.action, r.actor, r.via, r.conversation) for r in reversed(rows)]


@pytest.mark.usefixtures("logged_in")
async def test_a_conversation_is_erased_after_a_confirmation_and_audited(
    app: web.Application, client: TestClient, sqlite_url: str
) -> None:
    alice = find(app[LOG], "alice")
    page = await (await client.get(f"/conversations/{alice.id}")).text()
    assert f'href="/conversations/{alice.id}/erase"' in page

    form = await client.get(f"/conversations/{alice.id}/erase")
    html = await form.text()
    assert form.status == 200
    assert "Delete conversation" in html and alice.sender_id in html
    assert "what does an AP do" not in html  # the confirmation shows counts, not content
    assert conversations_page.conversations(app[LOG], Filters()).total == 4  # asking is not erasing

    token = await csrf_token(client, f"/conversations/{alice.id}/erase")
    unconfirmed = await client.post(
        f"/conversations/{alice.id}/erase", data={"csrf_token": token}, allow_redirects=False
    )
    assert unconfirmed.status == 303
    assert unconfirmed.headers["Location"] == f"/conversations/{alice.id}/erase"
    assert conversations_page.conversations(app[LOG], Filters()).total == 4

    done = await client.post(
        f"/conversations/{alice.id}/erase",
        data={"csrf_token": token, "confirm": "yes"},
        allow_redirects=False,
    )
    assert done.status == 303
    assert done.headers["Location"].startswith(f"/audit?erased={alice.sender_id}&n=")
    shown = await (await client.get(done.headers["Location"])).text()
    assert f"Erased conversation {alice.sender_id}:" in shown

    assert conversations_page.conversations(app[LOG], Filters()).total == 3
    assert (await client.get(f"/conversations/{alice.id}")).status == 404
    assert "what does an AP do" not in dump(sqlite_url)
    [*opened, erased] = logins_page.audit(app[LOG]).rows[::-1]
    assert (erased.action, erased.actor, erased.via) == ("erasure", TRAINER, "console")
    assert erased.conversation == alice.sender_id and erased.events and erased.events > 5
    assert {(r.action, r.conversation) for r in opened} == {("transcript", alice.sender_id)}


@pytest.mark.usefixtures("logged_in")
async def test_erasing_an_unknown_conversation_is_a_404(client: TestClient) -> None:
    token = await csrf_token(client)
    assert (await client.get("/conversations/999/erase")).status == 404
    gone = await client.post(
        "/conversations/999/erase", data={"csrf_token": token, "confirm": "yes"}
    )
    assert gone.status == 404


@pytest.mark.usefixtures("logged_in")
async def test_transcripts_and_exports_are_audited_without_content(
    app: web.Application, client: TestClient
) -> None:
    bob, dan = find(app[LOG], "bob"), find(app[LOG], "dan")
    await client.get(f"/conversations/{bob.id}")
    await client.get(f"/api/conversations/{dan.id}")
    await client.get("/export")
    await client.get("/export.yml")
    await client.get("/unanswered.csv")
    await client.get("/")  # lists are not audited: they show no transcript
    await client.get("/dashboard")
    assert _audit(app) == [
        ("transcript", TRAINER, "console", bob.sender_id),
        ("transcript", TRAINER, "console", dan.sender_id),
        ("export", TRAINER, "console", None),
        ("export", TRAINER, "console", None),
        ("export", TRAINER, "console", None),
    ]
    details = [row.detail for row in logins_page.audit(app[LOG]).rows[::-1]]
    assert details == [
        "",
        "JSON API",
        "NLU export (page): 0 NLU example(s)",
        "NLU export (file): 0 NLU example(s)",
        "unanswered groups (CSV): 2 group(s)",
    ]

    page = await client.get("/audit")
    html = await page.text()
    assert page.status == 200
    assert bob.sender_id in html and "NLU export (file)" in html
    for said in ("blorf", "roughly how many months", "what does an AP do"):
        assert said not in html
    only_exports = await (await client.get("/audit?action=export")).text()
    assert bob.sender_id not in only_exports and "unanswered groups (CSV)" in only_exports


@pytest.mark.usefixtures("logged_in")
async def test_the_audit_page_pages_and_ignores_a_bad_filter(
    app: web.Application, client: TestClient
) -> None:
    for _ in range(3):
        app[LOG].record("export", TRAINER, detail="x")
    assert logins_page.audit(app[LOG], per_page=2).pages == 2
    assert logins_page.audit(app[LOG], "export", page=9, per_page=2).page == 2
    page = await client.get("/audit?action=<script>&erased=<b>&n=1")
    html = await page.text()
    assert page.status == 200 and "<script>" not in html and "<b>" not in html
    with pytest.raises(ValueError, match="not an audited action"):
        app[LOG].record("read", TRAINER)


async def test_the_export_command_is_audited(
    sqlite_url: str, settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from bot.cli import main
    from bot.tracking.retention import command_user
    from tests.support.review import console_log, fill

    settings_env.setenv("TRACKER_STORE_URL", sqlite_url)
    async with console_log(sqlite_url, fill) as log:
        assert main(["review", "export"], io.StringIO()) == 0
        [row] = logins_page.audit(log).rows
    assert (row.action, row.actor, row.via) == ("export", command_user(), "command line")
    assert row.detail == "NLU export: 0 example(s)"
