"""`python -m bot db upgrade|current|check|revision`: the conversation log's schema."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO


def add_parser(commands: Any) -> None:
    db = commands.add_parser(
        "db", help="migrate the conversation log's database (docs/operations.md: Migrations)"
    ).add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="bring TRACKER_STORE_URL's database to the head")
    upgrade.add_argument("--to", default="head", help="a revision (default: head)")
    db.add_parser("current", help="print the revision the database is at, and the head")
    db.add_parser("check", help="compare the database with the models (exit 1 on a difference)")
    revision = db.add_parser("revision", help="write a new revision, generated from the models")
    revision.add_argument("-m", "--message", required=True, help="what the revision changes")
    revision.add_argument("--empty", action="store_true", help="write upgrade/downgrade yourself")


def main(args: argparse.Namespace, out: TextIO) -> int:
    from bot import migrations
    from bot.db import make_engine
    from bot.settings import PROJECT_ROOT, get_settings

    if args.action == "revision":
        from bot.migrations import schema

        path = schema.revision(args.message, empty=args.empty, out=out)
        try:
            shown: Path = path.relative_to(PROJECT_ROOT)
        except ValueError:
            shown = path
        print(f"Wrote {shown}: read it, then `python -m bot db upgrade`.", file=out)
        return 0
    engine = make_engine(get_settings().tracker_store_url)
    try:
        if args.action == "upgrade":
            before, after = migrations.upgrade(engine, args.to)
            if before == after:
                print(f"The conversation log is at {after} already.", file=out)
            else:
                print(
                    f"The conversation log went from {before or 'no version'} to {after}.", file=out
                )
            return 0
        with engine.connect() as connection:
            if args.action == "current":
                print(f"at {migrations.current(connection)} (head: {migrations.head()})", file=out)
                return 0
            from bot.migrations import schema

            differences = schema.drift(connection)
        for difference in differences:
            print(f"differs: {difference}", file=out)
        print(f"{len(differences)} difference(s) between the database and the models.", file=out)
        return 1 if differences else 0
    finally:
        engine.dispose()
