"""`python -m bot log purge|erase`: the conversation log's retention and erasure on request.

    python -m bot log purge [--older-than 30d] [--dry-run]
    python -m bot log erase --channel sms --sender +447700900123
    python -m bot log erase --conversation 3f2a...   # the pseudonym the console shows

The work is done by bot.tracking.retention; this module turns a platform's id into the
conversation's pseudonym (as the channels and the log do) and prints what was removed.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from typing import Any, TextIO

from bot.channels.conversations import NAMESPACES

_PERIOD = re.compile(r"([0-9]{1,5})([hdw]?)")
_PSEUDONYM = re.compile(r"[0-9a-f]{32}")


def period(text: str) -> timedelta:
    """`30d` (days, also a bare number), `12h` (hours) or `2w` (weeks), at least an hour."""
    match = _PERIOD.fullmatch(text.strip().lower())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a period: {text!r} (e.g. 30d, 12h, 2w)")
    number, unit = int(match.group(1)), match.group(2) or "d"
    found = {"h": timedelta(hours=number), "d": timedelta(days=number)}.get(
        unit, timedelta(weeks=number)
    )
    if found < timedelta(hours=1):
        raise argparse.ArgumentTypeError("the period is at least an hour")
    return found


def add_parser(commands: Any) -> None:
    log = commands.add_parser(
        "log", help="the conversation log's retention and erasure on request (docs/privacy.md)"
    ).add_subparsers(dest="action", required=True)
    purge = log.add_parser(
        "purge", help="delete the conversations idle for longer than the retention period"
    )
    purge.add_argument(
        "--older-than",
        type=period,
        help="30d, 12h or 2w (default: LOG_RETENTION_DAYS, 30 days)",
    )
    purge.add_argument("--dry-run", action="store_true", help="say what would go; delete nothing")
    erase = log.add_parser("erase", help="erase one person's conversation, on their request")
    erase.add_argument("--channel", choices=NAMESPACES, help="the channel they wrote on")
    erase.add_argument(
        "--sender", help="their id on that channel: a phone number for sms, a chat id, ..."
    )
    erase.add_argument(
        "--conversation", metavar="PSEUDONYM", help="the conversation's pseudonym (the console's)"
    )
    erase.add_argument(
        "--by", default=None, help="who asked for it, for the audit trail (default: your login)"
    )


def main(args: argparse.Namespace, out: TextIO) -> int:
    from bot import migrations
    from bot.db import make_engine
    from bot.settings import get_settings

    settings = get_settings()
    target = _erase_target(args, settings) if args.action == "erase" else None
    if args.action == "erase" and target is None:
        return 2
    engine = make_engine(settings.tracker_store_url)
    try:
        migrations.upgrade(engine)
        if target is None:
            return _purge(engine, args.older_than, args.dry_run, settings, out)
        from bot.tracking.retention import command_user

        return _erase(engine, target, args.by or command_user(), out)
    finally:
        engine.dispose()


def _erase_target(args: argparse.Namespace, settings: Any) -> str | None:
    """The pseudonym to erase, or None (with the reason printed) when the arguments are wrong."""
    from bot.channels.conversations import conversation_id
    from bot.tracking.identity import pseudonym

    if args.conversation is not None:
        if args.channel or args.sender:
            print("error: give --conversation, or --channel and --sender", file=sys.stderr)
            return None
        given = args.conversation.strip().lower()
        if not _PSEUDONYM.fullmatch(given):
            print("error: a pseudonym is 32 hexadecimal digits", file=sys.stderr)
            return None
        return given
    if not args.channel or not args.sender:
        print("error: give --channel and --sender, or --conversation", file=sys.stderr)
        return None
    return pseudonym(conversation_id(args.channel, args.sender), settings.sender_id_secret())


def _purge(
    engine: Any, older_than: timedelta | None, dry_run: bool, settings: Any, out: TextIO
) -> int:
    from bot.tracking import retention

    privacy = settings.privacy
    period = older_than or timedelta(days=privacy.retention_days)
    removed = retention.purge(
        engine,
        period,
        audit_older_than=timedelta(days=privacy.audit_retention_days),
        batch=privacy.purge_batch,
        dry_run=dry_run,
        via="command line",
    )
    if removed is None:
        print("Another process is purging the conversation log now: nothing done.", file=out)
        return 0
    what = "Would remove" if dry_run else "Removed"
    print(
        f"{what} the conversations idle for more than {retention.days_text(period)}, and audit "
        f"entries older than {privacy.audit_retention_days} days:",
        file=out,
    )
    for line in removed.lines():
        print(line, file=out)
    return 0


def _erase(engine: Any, target: str, by: str, out: TextIO) -> int:
    from bot.tracking import retention

    with retention.writing(engine) as session:
        removed = retention.erase_conversation(session, target, actor=by, via="command line")
    if removed.events == 0 and removed.conversations == 0:
        print(
            f"Nothing of conversation {target} is in the log (the request is in the audit trail).",
            file=out,
        )
        return 0
    print(f"Erased conversation {target}:", file=out)
    for line in removed.lines(records=False):
        print(line, file=out)
    return 0
