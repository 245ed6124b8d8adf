"""`python -m bot review report`: one page, as HTML that mails well and as plain text."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.review import report, unanswered_page
from bot.review.database import ConversationLog
from tests.support.review import fill_unanswered
from tests.support.servers import BotCommand

TODAY = date.today()


@pytest.fixture
async def filled(log: ConversationLog, sqlite_url: str) -> ConversationLog:
    await fill_unanswered(sqlite_url)
    group_ids = unanswered_page.unanswered(log, TODAY - timedelta(days=6), TODAY)
    part_time = [m.id for m in group_ids if "part time" in m.text]
    unanswered_page.mark_gap(
        log, part_time, "trainer", note="Part-time & flexible work <not covered>"
    )
    return log


def test_the_numbers(filled: ConversationLog) -> None:
    found = report.build(filled, TODAY - timedelta(days=6), TODAY)
    # Eleven conversations: Rasa starts each (action_listen) now, the 40-day-old one too.
    assert (found.conversations, found.typed, found.unanswered) == (11, 10, 9)
    assert found.answered_share == pytest.approx(0.1)
    assert (found.helpful, found.not_helpful) == (1, 1)
    assert [g.count for g in found.groups] == [3, 2, 1, 1, 1, 1]
    assert [(g.note, g.count) for g in found.gaps] == [
        ("Part-time & flexible work <not covered>", 2)
    ]
    empty = report.build(filled, TODAY + timedelta(days=1), TODAY + timedelta(days=1))
    assert (empty.answered_share, empty.groups, empty.gaps) == (None, [], [])
    assert "None: every message got an answer." in report.render_text(empty)


def test_the_html_mails_well_and_escapes_what_people_typed(filled: ConversationLog) -> None:
    html = report.render_html(report.build(filled, TODAY - timedelta(days=6), TODAY))
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "Part-time &amp; flexible work &lt;not covered&gt;" in html
    # Inline styles only, nothing to fetch: no <style>, <link>, src=, url(), http(s) URL.
    for forbidden in ("<style", "<link", " src=", "url(", "http://", "https://", "@import"):
        assert forbidden not in html.lower(), forbidden
    assert html.count('style="') > 20
    assert "10 </div>" not in html and ">10%</div>" in html
    assert "what pay band is an assistant practitioner" in html


def test_the_text_version(filled: ConversationLog) -> None:
    text = report.render_text(report.build(filled, TODAY - timedelta(days=6), TODAY))
    assert "Conversations:      11\n" in text
    assert "Answered:           10% (9 not answered)\n" in text
    assert "Answers rated:      helpful 1, not helpful 1\n" in text
    assert re.search(r"^1\. 3 × \"", text, re.MULTILINE)  # noqa: RUF001
    assert "- Part-time & flexible work <not covered>: asked 2 times in this period" in text
    assert "<script>window.__xss = 1</script> do you have parking" in text  # plain text


def test_since() -> None:
    today = date(2026, 3, 10)
    assert report.parse_since("7d", today) == date(2026, 3, 4)
    assert report.parse_since("1d", today) == today
    assert report.parse_since("2w", today) == date(2026, 2, 25)
    assert report.parse_since("2026-01-01", today) == date(2026, 1, 1)
    for bad in ("0d", "7", "seven days", "2027-01-01", "", "9" * 500):
        with pytest.raises(ValueError, match="--since"):
            report.parse_since(bad, today)


async def test_the_command(tmp_path: Path, cli: BotCommand) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    await fill_unanswered(url)
    env = {"TRACKER_STORE_URL": url}
    out = tmp_path / "report.html"
    done = cli("review", "report", "--since", "7d", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Wrote {out} and {out.with_suffix('.txt')}.\n"
    assert out.read_text().startswith("<!doctype html>")
    assert "Conversations:      11" in out.with_suffix(".txt").read_text()
    printed = cli("review", "report", "--since", "1w", env=env)
    assert printed.returncode == 0 and "Answered:           10%" in printed.stdout
    bad = cli("review", "report", "--since", "soon", env=env)
    assert bad.returncode == 1 and "--since is a number of days" in bad.stderr
