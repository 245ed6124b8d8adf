"""`python -m bot store ...` as content editors use it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import PROJECT_ROOT
from bot.store import get_store
from tests.support.servers import BotCommand

URL_PREFIX = "http://www.nhscareers.nhs.uk/explore-by-career/"


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_show_from_a_real_process(tmp_path: Path, cli: BotCommand) -> None:
    env = {"ROLE_STORE_URL": f"sqlite:///{tmp_path / 'r.db'}"}
    load = cli("store", "load", env=env)
    assert load.stdout == "Loaded 3 roles and 26 facts from 1 source page(s) in data/roles.\n"
    show = cli("store", "show", "assistant practitioner", "entry_requirements", env=env)
    assert show.returncode == 0, show.stderr
    lines = show.stdout.splitlines()
    assert lines[0] == "Assistant practitioner (assistant-practitioner)"
    assert "  - Assistant practitioners will usually need further qualifications." in lines
    assert any(line.startswith(f"    source: {URL_PREFIX}") for line in lines)


def test_load_skips_a_store_that_is_up_to_date_unless_forced(configured: str) -> None:
    assert _run("store", "load") == (
        0,
        "Loaded 3 roles and 26 facts from 1 source page(s) in data/roles.\n",
    )
    assert _run("store", "load") == (
        0,
        "The role store is up to date: 3 roles and 26 facts from 1 source page(s) in data/roles.\n",
    )
    assert _run("store", "load", "--force")[1].startswith("Loaded 3 roles")


def test_show_everything(configured: str) -> None:
    assert _run("store", "load")[0] == 0
    code, out = _run("store", "show")
    assert code == 0
    assert "Imaging support worker (imaging-support-worker)" in out
    assert "facts: overview 3, duties 9, entry_requirements 1, training 2, accreditation 4" in out


def test_show_role_in_user_wording_and_topic_with_spaces(configured: str) -> None:
    _run("store", "load")
    code, out = _run("store", "show", "APs", "how to apply")
    assert code == 0
    assert "how_to_apply:" in out
    assert "Contact local NHS employers" in out
    assert "overview:" not in out


def test_show_topic_the_page_is_silent_on(configured: str) -> None:
    _run("store", "load")
    code, out = _run("store", "show", "imaging support worker", "accreditation")
    assert code == 0
    assert "(the source page says nothing on this for this role)" in out


def test_show_unknown_role(configured: str, capsys: pytest.CaptureFixture[str]) -> None:
    _run("store", "load")
    assert _run("store", "show", "nurse")[0] == 2
    assert "no role called 'nurse'" in capsys.readouterr().err


def test_show_unknown_topic(configured: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run("store", "show", "AP", "salary")
    assert exit_.value.code == 2
    assert "unknown topic 'salary'" in capsys.readouterr().err


def test_show_before_load(configured: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("store", "show")[0] == 1
    assert "python -m bot store load" in capsys.readouterr().err


def test_bad_content_leaves_store_untouched(
    configured: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run("store", "load")[0] == 0
    before = get_store().fact_counts()
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in (PROJECT_ROOT / "data" / "roles").glob("*.yml"):
        (bad / path.name).write_text(path.read_text())
    facts = bad / "nhs-careers-radiography-assistants.yml"
    facts.write_text(facts.read_text().replace("topic: progression", "topic: pay", 1))
    assert _run("store", "load", "--content", str(bad))[0] == 1
    err = capsys.readouterr().err
    assert "nhs-careers-radiography-assistants.yml: facts[23].topic: unknown topic 'pay'" in err
    assert "The store was not changed." in err
    assert get_store().fact_counts() == before


def test_check_reports_uncovered_sentences(tmp_path: Path) -> None:
    folder = tmp_path / "roles"
    folder.mkdir()
    for path in (PROJECT_ROOT / "data" / "roles").glob("*.yml"):
        (folder / path.name).write_text(path.read_text())
    facts = folder / "nhs-careers-radiography-assistants.yml"
    text = facts.read_text()
    cut = text.index("  - id: entry-ap-further-qualifications\n")
    end = text.index("  # accreditation")
    facts.write_text(text[:cut] + text[end:])
    code, out = _run("store", "check", "--content", str(folder))
    assert code == 1
    assert "'Assistant practitioners will usually need further qualifications.'" in out
    assert "1 sentence(s) of the pages not covered" in out


def test_check_clean_content() -> None:
    code, out = _run("store", "check")
    assert code == 0
    assert out == "26 facts checked against 1 page(s); 0 sentence(s) of the pages not covered.\n"
