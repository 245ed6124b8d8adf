"""The docs a newcomer reads stay true: every relative link reaches a file (and, with `#x`, a
heading in it), every `make` target and `python -m bot` command they name exists, and the README
stays a short front door. No server, no model: the commands are checked against the Makefile and
the argparse parser bot/cli.py builds."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.rasa_command import COMMANDS as RASA_COMMANDS
from bot.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
PAGES = [README, *sorted((PROJECT_ROOT / "docs").glob("*.md")), PROJECT_ROOT / "bench/README.md"]
README_MAX_LINES = 150

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
MAKE = re.compile(r"(?<![\w/.-])make\s+([^#;&|`)\n]*)")
PYTHON_M_BOT = re.compile(r"(?<![\w-])python[\d.]*\s+-m\s+bot(\.[\w.]+)?((?:[ \t]+[^\s#;&|`)]+)*)")
TARGET = re.compile(r"[a-z][a-z0-9-]*")
MAKEFILE_TARGET = re.compile(r"^([a-z][a-z0-9_-]*)\s*:(?!=)", re.M)


@dataclass(frozen=True)
class Page:
    """A Markdown page split into what is read as prose (links, headings) and what is code."""

    path: Path
    prose: list[str]
    code: list[str]

    @classmethod
    def read(cls, path: Path) -> Page:
        prose: list[str] = []
        code: list[str] = []
        fenced = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if FENCE.match(line):
                fenced = not fenced
            elif fenced:
                code.append(line)
            else:
                code.extend(match.group(2) for match in INLINE_CODE.finditer(line))
                prose.append(INLINE_CODE.sub(lambda m: m.group(2).replace("]", ""), line))
        return cls(path, prose, code)

    @property
    def name(self) -> str:
        if self.path.is_relative_to(PROJECT_ROOT):
            return self.path.relative_to(PROJECT_ROOT).as_posix()
        return self.path.name


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in Page.read(path).prose:
        if match := HEADING.match(line):
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken_links(page: Page) -> Iterator[str]:
    for line in page.prose:
        for target in LINK.findall(line):
            if not target or SCHEME.match(target):
                continue
            path_part, _, anchor = target.partition("#")
            path = (page.path.parent / unquote(path_part)).resolve() if path_part else page.path
            if not path.exists():
                yield f"{page.name}: link to {target!r}: no such file"
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                yield f"{page.name}: link to {target!r}: no heading with that anchor"


@cache
def makefile_targets() -> frozenset[str]:
    return frozenset(MAKEFILE_TARGET.findall((PROJECT_ROOT / "Makefile").read_text()))


def make_targets(page: Page) -> Iterator[str]:
    """The targets of each `make ...` command in the page's code (options and VAR=value skipped)."""
    for code in page.code:
        for match in MAKE.finditer(code):
            for word in match.group(1).split():
                if word.startswith("-") or "=" in word:
                    continue
                if not TARGET.fullmatch(word):
                    break
                yield word


@cache
def cli_parser() -> argparse.ArgumentParser:
    from bot import cli

    return cli._parser()


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def bot_commands(page: Page) -> Iterator[tuple[str, list[str]]]:
    """Each `python -m bot...` in the page's code: the module (`bot` or `bot.x.y`) and its words."""
    for code in page.code:
        for match in PYTHON_M_BOT.finditer(code):
            yield "bot" + (match.group(1) or ""), match.group(2).split()


def unknown_commands(page: Page) -> Iterator[str]:
    for module, words in bot_commands(page):
        if module != "bot":
            file = PROJECT_ROOT.joinpath(*module.split("."))
            if not (file.with_suffix(".py").is_file() or (file / "__main__.py").is_file()):
                yield f"{page.name}: python -m {module}: no such module"
            elif module == "bot.rasa_command" and words[:1] and words[0] not in RASA_COMMANDS:
                yield f"{page.name}: python -m {module} {words[0]}: no such Rasa command"
            continue
        parser = cli_parser()
        named = ["python -m bot"]
        # The command, then a subcommand while the parser has them; other words are arguments.
        for word in words:
            choices = subcommands(parser)
            if not choices or not TARGET.fullmatch(word):
                break
            named.append(word)
            if word not in choices:
                yield f"{page.name}: {' '.join(named)}: no such command"
                break
            parser = choices[word]


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.relative_to(PROJECT_ROOT).as_posix())
def test_every_relative_link_reaches_a_file_and_heading(path: Path) -> None:
    problems = list(broken_links(Page.read(path)))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.relative_to(PROJECT_ROOT).as_posix())
def test_every_make_target_named_is_in_the_makefile(path: Path) -> None:
    page = Page.read(path)
    unknown = [f"{page.name}: make {t}" for t in make_targets(page) if t not in makefile_targets()]
    assert not unknown, "not in the Makefile:\n" + "\n".join(unknown)


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.relative_to(PROJECT_ROOT).as_posix())
def test_every_python_m_bot_command_named_exists(path: Path) -> None:
    problems = list(unknown_commands(Page.read(path)))
    assert not problems, "\n".join(problems)


def test_readme_is_a_short_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_the_checks_see_what_the_docs_name() -> None:
    """The checks above pass vacuously if they find nothing: they must see the main commands."""
    pages = [Page.read(path) for path in PAGES]
    targets = {target for page in pages for target in make_targets(page)}
    commands = {
        " ".join([module, *words[:2]]) for page in pages for module, words in bot_commands(page)
    }
    links = [target for page in pages for line in page.prose for target in LINK.findall(line)]
    assert {"run", "test", "test-fast", "eval", "bench-scale"} <= targets
    assert {"bot store load", "bot review add-user", "bot.rasa_command run"} <= commands
    assert {"docs/architecture.md", "../bench/README.md#scalepy"} <= set(links)


def test_a_broken_link_anchor_and_command_are_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](#title) [gone](missing.md) [anchor](#no-such-heading)\n\n"
        "`make no-such-target` `python -m bot store no-such-action` `python -m bot.no_such`\n"
        "```sh\nmake run   # fine\npython -m bot nosuch\n```\n",
        encoding="utf-8",
    )
    read = Page.read(page)
    assert [problem.split(": ", 1)[1] for problem in broken_links(read)] == [
        "link to 'missing.md': no such file",
        "link to '#no-such-heading': no heading with that anchor",
    ]
    assert [t for t in make_targets(read) if t not in makefile_targets()] == ["no-such-target"]
    problems = [problem.split(": ", 1)[1] for problem in unknown_commands(read)]
    assert problems == [
        "python -m bot store no-such-action: no such command",
        "python -m bot.no_such: no such module",
        "python -m bot nosuch: no such command",
    ]


def test_slugs_are_githubs() -> None:
    assert slug("Kubernetes (deploy/)") == "kubernetes-deploy"
    assert slug("Where one message's time goes (py-spy)") == "where-one-messages-time-goes-py-spy"
    assert slug("review_console.py") == "review_consolepy"


# The READMEs a pointer may name: the front door itself, the benchmarks' and the seed's.
NAMED_READMES = re.compile(r"bench/README|seed/README|README\.md(?!,? ?\"|'s| section)")


def test_no_code_points_into_the_readme_for_what_moved_to_docs() -> None:
    """The README is a front door now: code and config comments name the docs page instead."""
    pointers = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}"
        for folder in ("bot", "actions", "deploy", "tests", "bench")
        for path in sorted((PROJECT_ROOT / folder).rglob("*"))
        if path.suffix in {".py", ".yml", ".yaml", ".sh"} and path != Path(__file__)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "README" in line and not NAMED_READMES.search(line)
    ]
    assert pointers == []
