"""The project's command line, `python -m bot COMMAND`: the role store (`store load|show|check`),
the spaCy pipeline (`nlp build`), `train`, the assistant (`run`, `shell`, `prod`, `web`), the
review console (`review ...`), `eval`, the conversation log's schema (`db ...`) and its
retention and erasure (`log purge|erase`), and the model registry
(`model candidate|compare|promote|rollback|list`)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot import evaluation, log_cli
from bot.migrations import cli as db_cli
from bot.registry import cli as model_cli
from bot.review import cli as review_cli
from bot.settings import PROJECT_ROOT, MissingSecret, get_settings
from bot.store import TOPICS, ContentError, StoreUnavailable, drift, get_store, read_content
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
    load = store.add_parser("load", help="rebuild the store from the role content if it changed")
    load.add_argument("--content", type=Path, help="content folder (default: data/roles)")
    load.add_argument("--force", action="store_true", help="rebuild even when up to date")
    show = store.add_parser("show", help="print what the store holds")
    show.add_argument("role", nargs="?", help="a role, in any wording a user would type")
    show.add_argument("topic", nargs="?", type=_topic, help=f"one of {', '.join(TOPICS)}")
    check = store.add_parser("check", help="check the content without loading it")
    check.add_argument("--content", type=Path, help="content folder (default: data/roles)")
    check.add_argument(
        "--against",
        type=Path,
        action="append",
        metavar="FILE",
        help="a newer saved copy of the source page (HTML or text): which facts are stale "
        "(exit 1), which sentences are new, which moved heading; bad file: exit 2",
    )
    check.add_argument("--json", action="store_true", help="with --against: print JSON")
    nlp = commands.add_parser("nlp", help="the spaCy pipeline").add_subparsers(
        dest="action", required=True
    )
    build = nlp.add_parser("build", help="build the spaCy pipeline from the role store")
    build.add_argument("--out", type=Path, help="output folder (default: models/spacy/careers_en)")
    commands.add_parser("run", help="start the assistant on 127.0.0.1 (Rasa 5005, actions 5055)")
    commands.add_parser("shell", help="chat with the assistant in this terminal")
    prod = commands.add_parser(
        "prod",
        help="the production profile: Rasa instances and action servers behind nginx, "
        "PostgreSQL and Redis (docs/operations.md: The production profile)",
    )
    prod.add_argument("--port", type=int, default=8000, help="nginx's port (default: 8000)")
    web = commands.add_parser("web", help="serve only the careers page and chat widget")
    web.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default: 8080)")
    web.add_argument(
        "--rasa-url",
        default="http://127.0.0.1:5005",
        help="the Rasa server the widget talks to (default: http://127.0.0.1:5005)",
    )
    train = commands.add_parser("train", help="train the Rasa model when an input changed")
    train.add_argument("--force", action="store_true", help="train even when up to date")
    review_cli.add_parser(commands)
    evaluation.add_parser(commands)
    db_cli.add_parser(commands)
    log_cli.add_parser(commands)
    model_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            from bot import training

            training.train(get_store(), force=args.force, out=out)
            return 0
        if args.command == "review":
            return review_cli.main(args, out)
        if args.command == "eval":
            return evaluation.main(args, out)
        if args.command == "db":
            return db_cli.main(args, out)
        if args.command == "log":
            return log_cli.main(args, out)
        if args.command == "model":
            return model_cli.main(args, out)
        if args.command in ("run", "shell"):
            import logging

            from bot import serve

            # bot.serve says which messaging channels are on, and why the others are off.
            logging.basicConfig(level=logging.INFO, format="%(message)s")
            if args.command == "run" and (warning := drift.stale_warning(get_settings())):
                print(warning, file=sys.stderr)
            return serve.run_forever() if args.command == "run" else serve.shell()
        if args.command == "prod":
            from bot.prod import cluster

            return cluster.run_forever(get_settings(), public_port=args.port)
        if args.command == "web":
            from bot.web import server

            config = server.PageConfig(rasa_url=args.rasa_url, privacy=get_settings().privacy)
            return server.run(args.port, config)
        if args.action == "load":
            return _load(args.content, out, force=args.force)
        if args.action == "check" and args.against:
            content_dir = args.content or get_settings().content_dir
            return drift.run(content_dir, args.against, args.json, out)
        if args.action == "check":
            return _check(args.content, out)
        if args.action == "build":
            return _build_nlp(args.out, out)
        return _show(args.role, args.topic, out)
    except ContentError as exc:
        print(f"error: invalid role content: {exc}", file=sys.stderr)
        print("The store was not changed.", file=sys.stderr)
        return 1
    except (StoreUnavailable, MissingSecret) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"error: {' '.join(map(str, exc.cmd[:2]))} failed (exit {exc.returncode})",
            file=sys.stderr,
        )
        return 1


def _load(content_dir: Path | None, out: TextIO, *, force: bool = False) -> int:
    directory = content_dir or get_settings().content_dir
    content = read_content(directory)
    store = get_store()
    counts = {"roles": len(content.roles), "facts": len(content.facts)}
    counts["sources"] = len({source.url for source in content.sources})
    done = "Loaded"
    if not force and store.holds(content):
        done = "The role store is up to date:"
    else:
        counts = store.load(content)
    print(
        f"{done} {counts['roles']} roles and {counts['facts']} facts from "
        f"{counts['sources']} source page(s) in {_relative(directory)}.",
        file=out,
    )
    return 0


def _build_nlp(out_dir: Path | None, out: TextIO) -> int:
    from bot import nlp

    path = nlp.build(get_store(), out_dir or nlp.PIPELINE_DIR)
    count = len(nlp.patterns(get_store()))
    print(f"Built the spaCy pipeline with {count} entity patterns in {_relative(path)}.", file=out)
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
