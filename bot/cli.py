"""The project's command line: `python -m bot store load|show|check`."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.settings import PROJECT_ROOT, get_settings
from bot.store import TOPICS, ContentError, StoreUnavailable, get_store, read_content
from bot.store.content import uncovered_sentences


def _topic(text: str) -> str:
    topic = text.strip().lower().replace(" ", "_").replace("-", "_")
    if topic not in TOPICS:
        raise argparse.ArgumentTypeError(
            f"unknown topic '{text}' (choose from {', '.join(TOPICS)})"
        )
    return topic


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    store = commands.add_parser("store", help="the role store").add_subparsers(
        dest="action", required=True
    )
    load = store.add_parser("load", help="rebuild the store from the role content")
    load.add_argument("--content", type=Path, help="content folder (default: data/roles)")
    show = store.add_parser("show", help="print what the store holds")
    show.add_argument("role", nargs="?", help="a role, in any wording a user would type")
    show.add_argument("topic", nargs="?", type=_topic, help=f"one of {', '.join(TOPICS)}")
    check = store.add_parser("check", help="check the content without loading it")
    check.add_argument("--content", type=Path, help="content folder (default: data/roles)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "load":
            return _load(args.content, out)
        if args.action == "check":
            return _check(args.content, out)
        return _show(args.role, args.topic, out)
    except ContentError as exc:
        print(f"error: invalid role content: {exc}", file=sys.stderr)
        print("The store was not changed.", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _load(content_dir: Path | None, out: TextIO) -> int:
    directory = content_dir or get_settings().content_dir
    content = read_content(directory)
    counts = get_store().load(content)
    print(
        f"Loaded {counts['roles']} roles and {counts['facts']} facts from "
        f"{counts['sources']} source page(s) in {_relative(directory)}.",
        file=out,
    )
    return 0


def _check(content_dir: Path | None, out: TextIO) -> int:
    content = read_content(content_dir or get_settings().content_dir)
    missing = [
        (source, sentence)
        for source in content.sources
        for sentence in uncovered_sentences(source, content.facts)
    ]
    for source, sentence in missing:
        print(f"not covered: {source.path}: {sentence!r}", file=out)
    print(
        f"{len(content.facts)} facts checked against {len(content.sources)} page(s); "
        f"{len(missing)} sentence(s) of the pages not covered.",
        file=out,
    )
    return 1 if missing else 0


def _show(role_text: str | None, topic: str | None, out: TextIO) -> int:
    store = get_store()
    if role_text is None:
        counts = store.fact_counts()
        names = store.role_names()
        for role in store.roles():
            print(f"{role.title} ({role.slug})", file=out)
            print(f"  also: {', '.join(names[role.slug])}", file=out)
            per_topic = counts.get(role.slug, {})
            print("  facts: " + ", ".join(f"{t} {per_topic.get(t, 0)}" for t in TOPICS), file=out)
        return 0
    found = store.resolve_role(role_text)
    if found is None:
        known = ", ".join(r.title.lower() for r in store.roles())
        print(f"error: no role called '{role_text}' (known roles: {known})", file=sys.stderr)
        return 2
    print(f"{found.title} ({found.slug})", file=out)
    for current in [topic] if topic else list(TOPICS):
        facts = store.facts(found.slug, current)
        print(f"\n{current}:", file=out)
        if not facts:
            print("  (the source page says nothing on this for this role)", file=out)
        for fact in facts:
            print(
                textwrap.fill(fact.text, 96, initial_indent="  - ", subsequent_indent="    "),
                file=out,
            )
            print(f"    source: {fact.source_url}", file=out)
            print(
                textwrap.fill(
                    f'quote: "{fact.quote}"', 96, initial_indent="    ", subsequent_indent="      "
                ),
                file=out,
            )
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
