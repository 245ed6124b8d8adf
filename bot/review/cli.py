"""`python -m bot review add-user|serve|export|reindex|report|tests`: the console's commands."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.review import tests_cli

if TYPE_CHECKING:  # imported when a command needs it: `--help` stays quick
    from bot.review.database import ConversationLog

DEFAULT_PORT = 8081


def add_parser(commands: Any) -> None:
    review = commands.add_parser(
        "review", help="the trainers' review console and the conversation log"
    ).add_subparsers(dest="action", required=True)
    user = review.add_parser("add-user", help="create a trainer account (asks for a password)")
    user.add_argument("username")
    user.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (for scripts)",
    )
    user.add_argument("--reset", action="store_true", help="change an existing password")
    serve = review.add_parser("serve", help=f"start the console (127.0.0.1:{DEFAULT_PORT})")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    export = review.add_parser("export", help="relabelled messages as Rasa NLU YAML")
    export.add_argument("--out", type=Path, help="write to FILE (default: standard output)")
    review.add_parser("reindex", help="index logged events the console has not seen yet")
    report = review.add_parser(
        "report", help="a one-page report (HTML for e-mail, plain text) for a recent period"
    )
    report.add_argument(
        "--since", default="7d", help="7d (the last 7 days, today included), 2w, or YYYY-MM-DD"
    )
    report.add_argument(
        "--out",
        type=Path,
        help="write the HTML to FILE and the text beside it (.txt); default: text to stdout",
    )
    tests_cli.add_parser(review)


def main(args: argparse.Namespace, out: TextIO) -> int:
    from bot.review.auth import AuthError
    from bot.settings import MissingSecret

    try:
        if args.action == "add-user":
            return _add_user(args.username, args.password_stdin, args.reset, out)
        if args.action == "serve":
            from bot.review import app

            app.run(args.host, args.port)
            return 0
        if args.action == "export":
            return _export(args.out, out)
        if args.action == "report":
            return _report(args.since, args.out, out)
        if args.action == "tests":
            return tests_cli.main(args, _log(), out)
        count = _log().reindex()
        print(f"Read {count} event(s) not yet in the index.", file=out)
        return 0
    except (AuthError, MissingSecret, ValueError) as exc:  # ValueError: a setting's or a test's
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except LookupError as exc:  # a conversation that is not in the log
        print(f"error: not in the conversation log: {exc}", file=sys.stderr)
        return 1


def _log() -> ConversationLog:
    from bot.review.database import ConversationLog
    from bot.settings import get_settings
    from bot.store.sql import make_engine
    from bot.tracking.store import sqlite_pragmas

    engine = make_engine(get_settings().tracker_store_url)
    sqlite_pragmas(engine)
    log = ConversationLog(engine)
    log.create_tables()
    return log


def _add_user(username: str, from_stdin: bool, reset: bool, out: TextIO) -> int:
    from bot.review.auth import AuthError, check_username

    username = check_username(username)
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise AuthError("the passwords differ")
    from bot.review.logins_page import set_trainer

    created = set_trainer(_log(), username, password, reset=reset)
    print(f"{'Created' if created else 'Changed the password of'} trainer '{username}'.", file=out)
    return 0


def _export(path: Path | None, out: TextIO) -> int:
    from bot.review.export import build_export
    from bot.review.labels_page import labelled
    from bot.tracking.retention import EXPORT, command_user

    log = _log()
    found = build_export(labelled(log))
    log.record(
        EXPORT, command_user(), via="command line", detail=f"NLU export: {found.count} example(s)"
    )
    text = found.yaml()
    if path is None:
        out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
        print(f"Wrote {path}: {found.summary()}.", file=out)
    for item in found.in_test_set:
        print(
            f"left out (held-out test example, tests/nlu/test_nlu.yml): {item.text!r}",
            file=sys.stderr,
        )
    return 0


def _report(since: str, path: Path | None, out: TextIO) -> int:
    from bot.db import now
    from bot.review import report
    from bot.tracking.retention import EXPORT, command_user

    today = now().date()
    log = _log()
    found = report.build(log, report.parse_since(since, today), today)
    log.record(EXPORT, command_user(), via="command line", detail=f"report since {since}")
    text = report.render_text(found)
    if path is None:
        out.write(text)
        return 0
    path.write_text(report.render_html(found), encoding="utf-8")
    path.with_suffix(".txt").write_text(text, encoding="utf-8")
    print(f"Wrote {path} and {path.with_suffix('.txt')}.", file=out)
    return 0
