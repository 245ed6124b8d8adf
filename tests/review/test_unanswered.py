"""The Unanswered page: what the assistant could not answer, grouped, labelled, marked a gap."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import inspect

from bot.review import labels_page, unanswered_page
from bot.review.database import ConversationLog, NotFound
from bot.review.grouping import Unanswered, group
from bot.tracking.models import EVENTS_ACTION_INDEX
from tests.support.review import (
    UNANSWERED_THIS_WEEK,
    console_log,
    csrf_token,
    fill_unanswered,
    log_in,
)

TODAY = date.today()
WEEK = (TODAY - timedelta(days=6), TODAY)
PAY = {
    "what pay band is an assistant practitioner",
    "What band are radiography assistants on?",
    "what pay band are imaging support workers",
}


@pytest.fixture
async def filled(log_url: str) -> AsyncIterator[ConversationLog]:
    """fill_unanswered's log, on SQLite and on PostgreSQL."""
    async with console_log(log_url, filled_by=fill_unanswered) as found:
        yield found


def texts(found: list[Unanswered]) -> dict[str, set[str]]:
    return {m.text: set(m.reasons) for m in found}


def test_every_way_of_not_answering_is_found_and_nothing_else(filled: ConversationLog) -> None:
    assert texts(unanswered_page.unanswered(filled, *WEEK)) == UNANSWERED_THIS_WEEK
    # Forty days back the older pay question is in too; a button press never is.
    month = unanswered_page.unanswered(filled, TODAY - timedelta(days=45), TODAY)
    assert len(month) == len(UNANSWERED_THIS_WEEK) + 1
    assert all(not m.text.startswith("/") for m in month)
    assert (
        unanswered_page.unanswered(filled, TODAY + timedelta(days=1), TODAY + timedelta(days=2))
        == []
    )
    assert unanswered_page.typed_messages(filled, *WEEK) == 10


def test_actions_are_found_by_an_index_not_a_scan_of_every_event(
    filled: ConversationLog,
) -> None:
    indexes = {i["name"]: i["column_names"] for i in inspect(filled.engine).get_indexes("events")}
    assert indexes[EVENTS_ACTION_INDEX] == ["action_name", "timestamp"]
    filled.create_tables()  # again: nothing to do, no error


def test_similar_wordings_are_grouped(filled: ConversationLog) -> None:
    groups = group(unanswered_page.unanswered(filled, *WEEK))
    assert sorted(len(g.messages) for g in groups) == [1, 1, 1, 1, 2, 3]
    pay, part_time = groups[0], groups[1]
    assert set(pay.examples) == PAY and pay.count == 3
    assert pay.reasons == [("not_on_page", 3)]
    assert set(part_time.examples) == {"can I work part time", "is part time work possible"}
    assert pay.first < pay.last
    assert all(len(g.examples) <= 5 for g in groups)


def test_grouping_large_numbers_keeps_every_message() -> None:
    now = datetime(2026, 1, 1)
    wordings = ["what pay band is it", "pay band for this role", "do they work nights",
                "night shifts?", "is there parking", "hello"]  # fmt: skip
    messages = [
        Unanswered(i, i, f"{wordings[i % 6]} {i % 997}", now, frozenset({"fallback"}))
        for i in range(3000)
    ]
    groups = group(messages)
    assert sum(g.count for g in groups) == 3000
    assert sorted(m.id for g in groups for m in g.messages) == list(range(3000))
    assert group([]) == []


def test_labelled_and_gap_messages_are_handled(filled: ConversationLog) -> None:
    pay = group(unanswered_page.unanswered(filled, *WEEK))[0]
    assert unanswered_page.label_messages(filled, pay.ids, "ask_pay_and_conditions", "trainer") == 3
    left = unanswered_page.unanswered(filled, *WEEK, handled=False)
    assert PAY.isdisjoint(texts(left)) and len(left) == len(UNANSWERED_THIS_WEEK) - 3
    assert {x.text for x in labels_page.labelled(filled)} >= PAY

    part_time = group(left)[0]
    with pytest.raises(ValueError, match="needs a note"):
        unanswered_page.mark_gap(filled, part_time.ids, "trainer", note="  ")
    gap_id = unanswered_page.mark_gap(
        filled, part_time.ids, "trainer", note="Part-time work: not on the page"
    )
    assert (
        len(unanswered_page.unanswered(filled, *WEEK, handled=False))
        == len(UNANSWERED_THIS_WEEK) - 5
    )
    [gap] = unanswered_page.gaps(filled)
    assert (gap.id, gap.count, gap.created_by) == (gap_id, 2, "trainer")
    assert set(gap.examples) == {"can I work part time", "is part time work possible"}
    assert unanswered_page.gaps(filled, TODAY + timedelta(1), TODAY + timedelta(2))[0].count == 0
    # Into an existing gap; a message is in one gap at most.
    weather = next(m for m in left if "weather" in m.text)
    assert unanswered_page.mark_gap(filled, [weather.id], "trainer", gap_id=gap_id) == gap_id
    assert unanswered_page.gaps(filled)[0].count == 3
    with pytest.raises(NotFound):
        unanswered_page.mark_gap(filled, [weather.id], "trainer", gap_id=gap_id + 100)
    with pytest.raises(ValueError, match="none of these"):
        unanswered_page.mark_gap(filled, [10**9], "trainer", note="x")
    unanswered_page.delete_gap(filled, gap_id)
    assert unanswered_page.gaps(filled) == []
    assert (
        len(unanswered_page.unanswered(filled, *WEEK, handled=False))
        == len(UNANSWERED_THIS_WEEK) - 3
    )


# --- through the web app ---------------------------------------------------------------------


@pytest.fixture
async def signed_in(app: web.Application, client: TestClient, sqlite_url: str) -> TestClient:
    await fill_unanswered(sqlite_url)
    await log_in(client)
    return client


def _form(html: str, number: int, kind: str) -> dict[str, list[str]]:
    """The hidden fields of group `number`'s label or gap form."""
    section = html.split(f'id="group-{number}"')[1].split("</section>")[0]
    form = section.split(f'class="{kind}-group"')[1].split("</form>")[0]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)
    return fields


def _post_data(fields: dict[str, list[str]], **extra: str) -> list[tuple[str, str]]:
    return [(k, v) for k, vs in fields.items() for v in vs] + list(extra.items())


async def test_the_page_shows_groups_escaped(signed_in: TestClient) -> None:
    response = await signed_in.get("/unanswered?from={}&to={}".format(*WEEK))
    html = await response.text()
    assert response.status == 200
    total = len(UNANSWERED_THIS_WEEK)
    assert f"{total} unanswered messages in 6 groups" in html
    assert '<span class="count">3 ×</span>' in html  # noqa: RUF001
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html and "<script" not in html
    assert "the page doesn&#39;t cover it (3)" in html
    # The default range is the last 30 days: the 40-day-old question is not in it.
    default = await (await signed_in.get("/unanswered")).text()
    assert f"{total} unanswered messages" in default


async def test_labelling_a_group_puts_it_in_the_export(signed_in: TestClient) -> None:
    html = await (await signed_in.get("/unanswered")).text()
    fields = _form(html, 1, "label")
    assert len(fields["messages"][0].split(",")) == 3
    response = await signed_in.post(
        "/unanswered/label",
        data=_post_data(fields, label="ask_pay_and_conditions"),
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"].endswith("&done=label&n=3")
    after = await (await signed_in.get(response.headers["Location"])).text()
    assert "Labelled 3 messages: they are in the export now." in after
    assert f"{len(UNANSWERED_THIS_WEEK) - 3} unanswered messages in 5 groups" in after
    exported = yaml.safe_load(await (await signed_in.get("/export.yml")).text())
    [item] = exported["nlu"]
    assert item["intent"] == "ask_pay_and_conditions"
    assert {line[2:] for line in item["examples"].splitlines()} == PAY


async def test_marking_a_gap_lists_it_for_the_careers_team(signed_in: TestClient) -> None:
    html = await (await signed_in.get("/unanswered")).text()
    fields = _form(html, 1, "gap")
    response = await signed_in.post(
        "/unanswered/gap",
        data=_post_data(fields, gap="", note="Pay bands: <not> on the page"),
        allow_redirects=False,
    )
    assert response.status == 303
    gaps = await (await signed_in.get("/gaps")).text()
    assert "Pay bands: &lt;not&gt; on the page" in gaps and "3 times" in gaps
    assert "what pay band are imaging support workers" in gaps
    # The group now offers the gap, and "include handled" shows it marked.
    page = await (await signed_in.get("/unanswered?all=1")).text()
    assert "content gap #1" in page and "#1: Pay bands" in page
    token = await csrf_token(signed_in, "/gaps")
    removed = await signed_in.post(
        "/gaps/1/delete", data={"csrf_token": token}, allow_redirects=False
    )
    assert removed.status == 303
    assert "No content gap marked yet." in await (await signed_in.get("/gaps")).text()


async def test_bad_group_forms_are_refused(signed_in: TestClient) -> None:
    html = await (await signed_in.get("/unanswered")).text()
    fields = _form(html, 1, "label")
    token = fields["csrf_token"]
    cases = [
        ("/unanswered/label", _post_data(fields, label="no_such_intent"), 400),
        ("/unanswered/label", _post_data(fields, label="<b>"), 400),
        ("/unanswered/label", [("csrf_token", token[0]), ("label", "greet")], 400),
        ("/unanswered/label", [("csrf_token", token[0]), ("messages", "1,x"), ("label", "x")], 400),
        ("/unanswered/gap", _post_data(fields, gap="", note=" "), 400),
        ("/unanswered/gap", _post_data(fields, gap="abc", note="x"), 400),
        ("/unanswered/gap", _post_data(fields, gap="²", note="x"), 400),
        ("/unanswered/label", [("csrf_token", token[0]), ("messages", "²"), ("label", "x")], 400),
        ("/unanswered/gap", _post_data(fields, gap="999", note=""), 404),
        ("/unanswered/gap", [("messages", "1"), ("note", "no token")], 403),
        ("/gaps/999/delete", [("csrf_token", token[0])], 404),
    ]  # fmt: skip
    for path, data, status in cases:
        response = await signed_in.post(path, data=data, allow_redirects=False)
        assert response.status == status, (path, data, response.status)
    assert "No content gap marked yet." in await (await signed_in.get("/gaps")).text()
    huge = [("csrf_token", token[0]), ("label", "greet"), ("messages", ",".join(["1"] * 5001))]
    assert (await signed_in.post("/unanswered/label", data=huge)).status == 400


async def test_the_groups_download_as_csv_that_starts_no_formula(signed_in: TestClient) -> None:
    response = await signed_in.get("/unanswered.csv?from={}&to={}".format(*WEEK))
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [int(r["messages"]) for r in rows] == [3, 2, 1, 1, 1, 1]
    assert set(rows[0]["examples"].split(" | ")) == PAY
    assert rows[0]["why"] == "the page doesn't cover it (3)"
    formula = next(r for r in rows if "calc" in r["examples"])
    assert formula["examples"] == '\'=cmd|"/c calc"!A1 uniform'
    assert all(not value.startswith(("=", "+", "-", "@")) for r in rows for value in r.values())


async def test_the_dashboard_counts_unanswered_messages_per_day(signed_in: TestClient) -> None:
    html = await (await signed_in.get("/dashboard")).text()
    assert html.count("<svg") == 5
    assert f"{len(UNANSWERED_THIS_WEEK)} in this range" in html
    assert 'aria-label="Unanswered messages per day"' in html


async def test_hostile_query_strings_get_the_default_range(signed_in: TestClient) -> None:
    for query in (
        "from=<script>&to=2026-13-45",
        "from=2026-01-01&to=1999-01-01&page=-3&all=%00",
        "page=99999999999999999999",
        "done=label&n=²",
        "from=" + "9" * 5000,
    ):
        for path in ("/unanswered", "/unanswered.csv"):
            response = await signed_in.get(f"{path}?{query}")
            body = await response.text()
            assert response.status == 200, (path, query)
            if path == "/unanswered":
                assert "<script>" not in body
