"""`python -m bot review tests save|list|export`: the saved test conversations, for scripts and CI
(bot.review.saved_tests; the console's Tests page does the same)."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.evaluation import KINDS, MAX_TURNS

if TYPE_CHECKING:
    from bot.review.database import ConversationLog


def add_parser(review: Any) -> None:
    tests = review.add_parser(
        "tests", help="test conversations saved from the log (regression cases)"
    ).add_subparsers(dest="tests_action", required=True)
    save = tests.add_parser(
        "save", help="save a logged conversation (or its first turns) as a test conversation"
    )
    save.add_argument("conversation", type=int, help="its number in the console")
    save.add_argument("--turns", type=int, help=f"keep the first N typed messages (1-{MAX_TURNS})")
    save.add_argument("--kind", choices=KINDS, help="default: multi-turn, fact or direct")
    save.add_argument(
        "--must",
        action="append",
        metavar="PHRASE",
        help="what the final reply must contain (repeat; default: from the store's facts in it)",
    )
    save.add_argument(
        "--must-not",
        action="append",
        metavar="PHRASE",
        help="what it must not contain (repeat; default: the other roles' facts on its topic)",
    )
    save.add_argument("--by", default=None, help="who saves it (default: your login name)")
    tests.add_parser("list", help="the saved test conversations, one a line")
    export = tests.add_parser(
        "export", help="the saved tests as YAML in the format of tests/conversations"
    )
    export.add_argument("--out", type=Path, help="write to FILE (default: standard output)")


def main(args: argparse.Namespace, log: ConversationLog, out: TextIO) -> int:
    from bot.review import saved_tests

    if args.tests_action == "export":
        with log.session() as session:
            text = saved_tests.export_yaml(saved_tests.saved_tests(session))
        if args.out is None:
            out.write(text)
        else:
            args.out.write_text(text, encoding="utf-8")
            print(f"Wrote {args.out}.", file=out)
        return 0
    if args.tests_action == "list":
        with log.session() as session:
            for test in saved_tests.saved_tests(session):
                print(f"{test.case_id} ({test.kind}): {' / '.join(test.turns)}", file=out)
        return 0
    from bot.review.transcript_page import transcript as transcript_of
    from bot.store import get_store

    transcript = transcript_of(log, args.conversation)
    draft = saved_tests.suggest(transcript, get_store(), args.turns, args.kind)
    with log.session() as session:
        saved = saved_tests.save(
            session,
            conversation_id=draft.conversation_id,
            turns=[e.text for e in draft.exchanges[: draft.turns]],
            kind=draft.kind,
            must=draft.must if args.must is None else args.must,
            must_not=draft.must_not if args.must_not is None else args.must_not,
            by=args.by or getpass.getuser(),
        )
    print(f"must contain: {list(saved.must)}; must not: {list(saved.must_not)}", file=out)
    print(f"Saved {saved.case_id}.", file=out)
    return 0
