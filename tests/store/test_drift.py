"""`python -m bot store check --against FILE`: has the source page changed since the snapshot?"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bot import serve
from bot.cli import main
from bot.settings import PROJECT_ROOT, Settings, get_settings
from bot.store import Content
from bot.store.content import FactSpec, SourceSpec
from bot.store.drift import (
    PageError,
    compare,
    fold,
    html_page,
    match_source,
    read_page,
    stale_warning,
    text_page,
)

PAGES = Path(__file__).parent / "pages"
SNAPSHOT = PROJECT_ROOT / "data" / "sources" / "radiography-assistants.txt"
CURRENT_HTML = PAGES / "radiography-assistants.html"
EDITED_TEXT = PAGES / "radiography-assistants-edited.txt"
# The edited HTML copy is the current one with these edits, each made exactly once: the two
# changes the text copy has, plus case, markup and a line break that must not count as changes.
HTML_EDITS = [
    ("processing film images", "processing digital images"),
    ("pass four (or more)", "pass five (or more)"),
    ("A mature approach is essential.", "A <strong>MATURE</strong> approach is\n essential."),
    ("<h2>How to apply</h2>", "<h2>How To Apply</h2>"),
]
HEADINGS = [
    "Radiography assistants and imaging support workers",
    "The job",
    "Entry requirements",
    "Progression opportunities",
    "How to apply",
]
# What the edited copies change: the GCSE count and one duty.
NEW_IN_EDITED = [
    "processing digital images",
    "There are no formal entry requirements, to work as a radiography assistant or imaging "
    "support worker, although applicants may need to pass five (or more) GCSEs, or equivalent "
    "to qualify for some more advanced work.",
]
MOVED_PARAGRAPH = "Training will usually be on the job. But short courses may be offered off-site."


def _check_json(*pages: Path) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    code = main(["store", "check", *(f"--against={p}" for p in pages), "--json"], out=out)
    return code, json.loads(out.getvalue())


def _check_text(page: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["store", "check", "--against", str(page)], out=out)
    return code, out.getvalue()


def _report(result: dict[str, Any]) -> dict[str, Any]:
    """The one report, without the file name (which differs between copies)."""
    (report,) = result["reports"]
    return {key: value for key, value in report.items() if key != "page"}


@pytest.fixture
def edited_html(tmp_path: Path) -> Path:
    html = CURRENT_HTML.read_text(encoding="utf-8")
    for old, new in HTML_EDITS:
        assert html.count(old) == 1, old
        html = html.replace(old, new)
    page = tmp_path / "radiography-assistants-edited.html"
    page.write_text(html, encoding="utf-8")
    return page


def _changed_facts(content: Content) -> list[FactSpec]:
    """The facts the edited copies contradict: the GCSE count and the film-processing duty."""
    return [
        f
        for f in content.facts
        if "four (or more)" in f.quote or f.quote == "processing film images"
    ]


def _snapshot_lines() -> list[str]:
    return SNAPSHOT.read_text(encoding="utf-8").splitlines()


# The command, on the copies under tests/store/pages


@pytest.mark.parametrize("page", [SNAPSHOT, CURRENT_HTML], ids=["snapshot", "html-copy"])
def test_the_current_page_has_nothing_stale_new_or_moved(page: Path) -> None:
    code, result = _check_json(page)
    assert code == 0
    report = _report(result)
    assert (report["stale"], report["new"], report["moved"]) == ([], [], [])
    assert report["source"]["snapshot"] == "data/sources/radiography-assistants.txt"


def test_the_current_page_in_words() -> None:
    code, text = _check_text(SNAPSHOT)
    assert code == 0
    assert text.splitlines()[-1] == "0 stale, 0 new, 0 moved."


def test_edited_copy_reports_both_facts_stale_and_the_new_sentences(content: Content) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "store", "check", "--against", str(EDITED_TEXT), "--json"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    report = _report(json.loads(run.stdout))
    changed = _changed_facts(content)
    assert {f.topic for f in changed} == {"duties", "entry_requirements"}
    assert [(s["topic"], s["quote"]) for s in report["stale"]] == [
        (f.topic, f.quote) for f in changed
    ]
    assert [n["sentence"] for n in report["new"]] == NEW_IN_EDITED
    assert [n["heading"] for n in report["new"]] == ["The job", "Entry requirements"]
    assert report["moved"] == []


def test_edited_copy_in_words() -> None:
    code, text = _check_text(EDITED_TEXT)
    assert code == 1
    lines = text.splitlines()
    assert lines[0].startswith(f'{EDITED_TEXT} against "NHS Careers: Radiography assistants')
    assert (
        lines[1].startswith("Stale: ")
        and "fact(s) whose quote is no longer on the page" in lines[1]
    )
    assert '  - duties: "processing film images"' in lines
    assert "  - under 'The job': \"processing digital images\"" in lines
    assert lines[-1].endswith(
        "moved: update data/roles/nhs-careers-radiography-assistants.yml and its snapshot."
    )


def test_html_copy_gives_the_same_report_as_the_text(edited_html: Path) -> None:
    text_code, text_result = _check_json(EDITED_TEXT)
    html_code, html_result = _check_json(edited_html)
    assert html_code == text_code == 1
    assert _report(html_result) == _report(text_result)
    assert [n["sentence"] for n in _report(html_result)["new"]] == NEW_IN_EDITED


def test_white_space_bullets_curly_quotes_and_case_are_not_changes(tmp_path: Path) -> None:
    lines = []
    for line in _snapshot_lines():
        line = line.replace("•", "*").replace("'", "\u2019").upper()
        # Hard-wrapped paragraphs, as a text browser saves them; bullets stay one a line.
        lines.append(
            line if "*" in line else textwrap.fill(line, 50, break_on_hyphens=False) if line else ""
        )
    page = tmp_path / "wrapped.txt"
    page.write_text("\n".join(lines).replace(" ", "  "), encoding="utf-8")
    code, result = _check_json(page)
    assert code == 0
    report = _report(result)
    assert (report["stale"], report["new"], report["moved"]) == ([], [], [])


def test_a_quote_moved_to_another_heading(tmp_path: Path, content: Content) -> None:
    lines = [line for line in _snapshot_lines() if line != MOVED_PARAGRAPH]
    lines.insert(lines.index("Training is a key element of these tasks.") + 1, MOVED_PARAGRAPH)
    page = tmp_path / "moved.txt"
    page.write_text("\n".join(lines), encoding="utf-8")
    code, result = _check_json(page)
    assert code == 0  # a move is for a person to look at; nothing became untrue
    report = _report(result)
    expected = [f for f in content.facts if f.quote == MOVED_PARAGRAPH]
    assert expected
    assert [(m["quote"], m["topic"], m["was"], m["now"]) for m in report["moved"]] == [
        (f.quote, f.topic, "Entry requirements", "The job") for f in expected
    ]
    assert (report["stale"], report["new"]) == ([], [])
    code, text = _check_text(page)
    assert f"Moved: {len(expected)} fact(s) whose quote is under another heading" in text
    assert "'Entry requirements' -> 'The job'" in text


# Files that are not a copy of the page: exit 2 and a message saying why


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("blank.html", b"  \n\n\t ", "is empty"),
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "is a binary file"),
        ("latin.txt", "Caf\u00e9 \u00e0 la carte".encode("utf-16-le"), "is a binary file"),
        ("cp.txt", b"The job\n\n\xff\xfe\x81 broken", "is not text"),
        ("facts.json", b'{"roles": ["radiography-assistant"], "facts": []}', "does not look like"),
        (
            "other.html",
            b"<html><body><main><h1>Pharmacy technician</h1><p>Pharmacy technicians prepare "
            b"medicines.</p></main></body></html>",
            "does not look like a copy of the source page",
        ),
        ("menu.html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "has no text"),
    ],
)
def test_a_file_that_is_not_the_page_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, message: str
) -> None:
    page = tmp_path / name
    page.write_bytes(data)
    code, text = _check_text(page)
    assert code == 2
    assert text == ""
    err = capsys.readouterr().err
    assert err.startswith(f"error: {page}")
    assert message in err


def test_missing_file_and_folder_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check_text(tmp_path / "nowhere.html")[0] == 2
    assert "nowhere.html: no such file" in capsys.readouterr().err
    assert _check_text(tmp_path)[0] == 2
    assert "is a folder" in capsys.readouterr().err


def test_not_a_page_from_a_real_process_with_json(tmp_path: Path) -> None:
    page = tmp_path / "notes.txt"
    page.write_text("Shopping: eggs, milk, bread.\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "bot", "store", "check", "--against", str(page), "--json"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    message = (
        f"{page} does not look like a copy of the source page: not one sentence or heading of "
        '"NHS Careers: Radiography assistants and imaging support workers" is on it'
    )
    assert json.loads(run.stdout) == {"error": message}
    assert run.stderr == f"error: {message}\n"


# The pieces


def test_fold() -> None:
    assert fold("  •  Don\u2019t   PANIC \u201cnow\u201d\n - ok ") == 'don\'t panic "now" ok'
    assert fold("part-time, off-site") == "part-time, off-site"


def test_plain_text_headings_are_the_pages_headings() -> None:
    page = text_page(SNAPSHOT.read_text(encoding="utf-8"))
    assert [line.text for line in page.lines if line.is_heading] == HEADINGS
    assert page.heading_of("processing film images") == "The job"
    assert page.heading_of("A MATURE approach is essential.") == "Entry requirements"
    assert page.heading_of("processing film image") is None  # whole words only


def test_a_quote_may_span_lines() -> None:
    page = text_page("The job\n\nTraining will usually be\non the job, but not always.\n")
    assert page.heading_of("usually be on the job") == "The job"
    assert [s for s, _ in page.sentences()] == [
        "The job",
        "Training will usually be on the job, but not always.",
    ]


def test_html_article_leaves_out_menus_banners_and_footers() -> None:
    page = html_page(CURRENT_HTML.read_text(encoding="utf-8"))
    text = "\n".join(line.text for line in page.lines)
    for furniture in (
        "Skip to main content",
        "We use cookies",
        "Search NHS Careers",
        "Your career in the NHS starts here.",
        "Contact us today.",
        "Wider healthcare team",
        "Related careers",
        "Take our quiz",
        "Crown copyright",
        "dataLayer",
        "cookie-banner",
    ):
        assert furniture not in text
    assert [line.text for line in page.lines if line.is_heading] == HEADINGS
    assert page.lines[1].text.startswith("This page describes the role of staff")
    assert (
        "Radiographers\u2019 Curriculum Framework. For more information, visit the SOR website."
        in text
    )


def test_html_without_main_drops_the_page_header_and_footer() -> None:
    page = html_page(
        "<body><header><p>NHS Careers menu</p></header><div id=content><h2>The job</h2>"
        "<div>They assist <b>radiographers</b>.<br>They process images.</div></div>"
        "<footer><p>Copyright.</p></footer></body>"
    )
    assert [(line.text, line.heading) for line in page.lines] == [
        ("The job", "The job"),
        ("They assist radiographers.", "The job"),
        ("They process images.", "The job"),
    ]


def test_furniture_inside_furniture_is_removed_once() -> None:
    page = html_page(
        "<main>"
        + "<aside><nav><form><button>Go</button></form></nav><div hidden><nav>y</nav></div></aside>"
        * 50
        + "<h2>The job</h2><p>They assist.</p><footer><nav>Top</nav><p>Updated 2024.</p></footer>"
        "</main>"
    )
    assert [line.text for line in page.lines] == ["The job", "They assist.", "Updated 2024."]


def test_deeply_nested_html_does_not_crash(tmp_path: Path) -> None:
    page = tmp_path / "nested.html"
    page.write_text("<html><body>" + "<div>" * 20000 + "The job" + "</div>" * 20000)
    assert [line.text for line in read_page(page).lines] == ["The job"]


def _source(
    text: str, not_facts: tuple[str, ...] = (), url: str = "http://example.org/a"
) -> SourceSpec:
    return SourceSpec(
        url=url, title=url, snapshot=SNAPSHOT, text=text, not_facts=not_facts, path="a.yml"
    )


def _fact(quote: str, url: str = "http://example.org/a") -> FactSpec:
    return FactSpec(
        topic="duties", roles=("r",), text=quote, quote=quote, source_url=url, path="a.yml"
    )


def test_a_sentence_two_facts_quote_in_parts_is_covered() -> None:
    text = "Duties\n\nThey lift patients and they clean rooms.\n"
    source = _source(text, not_facts=("Duties",))
    facts = [_fact("They lift patients"), _fact("they clean rooms")]
    drift = compare(source, facts, text_page(text), Path("x"))
    assert (drift.stale, drift.new, drift.moved) == ((), (), ())
    longer = text_page(text.replace("clean rooms", "clean rooms and cook"))
    drift = compare(source, facts, longer, Path("x"))
    assert drift.new == (("They lift patients and they clean rooms and cook.", "Duties"),)
    assert drift.stale == ()


def test_the_page_is_matched_to_its_own_source() -> None:
    one = _source("Porters\n\nPorters move patients.\n", url="http://example.org/porters")
    two = _source("Cooks\n\nCooks make meals.\n", url="http://example.org/cooks")
    content = Content(roles=(), sources=(one, two), facts=())
    assert match_source(content, text_page("Cooks\n\nCooks make soup.\n"), Path("x")) == two
    with pytest.raises(PageError, match="not one sentence or heading"):
        match_source(content, text_page("Nurses\n\nNurses care.\n"), Path("x"))


# The warning `bot run` (and so `make run`) prints


def test_settings_read_source_page_latest() -> None:
    assert Settings.from_env({}).source_page_latest is None
    assert Settings.from_env({"SOURCE_PAGE_LATEST": " "}).source_page_latest is None
    assert Settings.from_env({"SOURCE_PAGE_LATEST": "a/b.html"}).source_page_latest == Path(
        "a/b.html"
    )


def test_warning_when_the_newer_copy_has_stale_facts(content: Content, edited_html: Path) -> None:
    warning = stale_warning(Settings(source_page_latest=edited_html))
    assert warning == (
        f"warning: {len(_changed_facts(content))} fact(s) are no longer on the newer copy of the "
        f"page {edited_html}; see python -m bot store check --against {edited_html}"
    )


def test_no_warning_without_a_newer_copy_or_without_stale_facts() -> None:
    assert stale_warning(Settings()) is None
    assert stale_warning(Settings(source_page_latest=CURRENT_HTML)) is None


def test_warning_for_a_bad_newer_copy_is_one_line(tmp_path: Path) -> None:
    warning = stale_warning(Settings(source_page_latest=tmp_path / "gone.html"))
    assert (
        warning
        == f"warning: SOURCE_PAGE_LATEST cannot be checked: {tmp_path}/gone.html: no such file"
    )


def test_bot_run_prints_the_warning_and_still_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    started: list[bool] = []

    def run_forever() -> int:
        started.append(True)
        return 0

    monkeypatch.setattr(serve, "run_forever", run_forever)
    monkeypatch.setenv("SOURCE_PAGE_LATEST", str(EDITED_TEXT))
    get_settings.cache_clear()
    try:
        assert main(["run"]) == 0
    finally:
        get_settings.cache_clear()
    assert started == [True]
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("warning: ") and "fact(s) are no longer on the newer copy" in line
