"""`python -m bot model candidate|compare|promote|rollback|list`: the trainers' loop from the
command line (the console's Models page starts the same commands)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from bot import evaluation


def _by(value: str | None) -> str:
    return (value or getpass.getuser())[:100]


def add_parser(commands: Any) -> None:
    model = commands.add_parser(
        "model", help="candidate models: train, compare with the live model, promote, roll back"
    ).add_subparsers(dest="action", required=True)
    candidate = model.add_parser(
        "candidate",
        help="train a candidate from data/ plus the console's labels (prints its id last)",
    )
    candidate.add_argument(
        "--finetune",
        action="store_true",
        help="fine-tune the live model (Rasa's incremental training: a third of the epochs)",
    )
    candidate.add_argument(
        "--epochs", type=int, help="DIET's epochs instead of config.yml's (from scratch only)"
    )
    candidate.add_argument("--by", help="who asks for it (default: your login name)")
    candidate.add_argument("--id", dest="model_id", help=argparse.SUPPRESS)

    compare = model.add_parser(
        "compare", help="run the conversation sets and saved tests on the live model and CANDIDATE"
    )
    compare.add_argument("candidate")
    compare.add_argument(
        "--conversations",
        type=Path,
        default=evaluation.CASES_DIR,
        help="folder of conversation cases (default: tests/conversations)",
    )
    compare.add_argument(
        "--safety",
        type=Path,
        default=None,
        help="labelled safety messages (default: tests/eval/safety_tune.yml)",
    )
    compare.add_argument(
        "--nlu", type=Path, default=None, help="held-out NLU examples (default: tests/nlu)"
    )
    compare.add_argument("--by", help="who asks for it (default: your login name)")

    promote = model.add_parser(
        "promote", help="make CANDIDATE the live model on every running Rasa instance"
    )
    promote.add_argument("candidate")
    promote.add_argument("--by", help="who promotes it (default: your login name)")
    rollback = model.add_parser("rollback", help="go back to the model the last promotion replaced")
    rollback.add_argument("--by", help="who rolls back (default: your login name)")
    model.add_parser("list", help="the live model, the candidates, the promotions, the instances")


def main(args: argparse.Namespace, out: TextIO) -> int:
    from bot.registry import candidate
    from bot.settings import get_settings

    settings = get_settings()
    try:
        if args.action == "candidate":
            if args.epochs is not None and (args.finetune or args.epochs < 1):
                raise candidate.CandidateError(
                    "--epochs is a whole number, and not with --finetune"
                )
            options = candidate.Options(
                by=_by(args.by), finetune=args.finetune, epochs=args.epochs, model_id=args.model_id
            )
            code, model_id = candidate.train(settings, options, out)
            if model_id is not None:
                print(model_id, file=out)
            return code
        if args.action == "compare":
            from bot.registry import compare

            return compare.main(
                settings,
                args.candidate,
                _by(args.by),
                args.conversations,
                out,
                safety=args.safety or compare.SAFETY_SET,
                nlu=args.nlu or compare.NLU_SET,
            )
        if args.action in ("promote", "rollback"):
            from bot.registry.switch import promote, rollback

            if args.action == "promote":
                return promote(settings, args.candidate, _by(args.by), out)
            return rollback(settings, _by(args.by), out)
        return _list(settings, out)
    except candidate.CandidateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _list(settings: Any, out: TextIO) -> int:
    from bot.registry.candidate import reap
    from bot.registry.records import Registry

    registry = Registry.from_settings(settings)
    registry.create_tables()
    reap(registry)
    live = registry.live()
    print(f"live: {live.name} ({live.path})", file=out)
    for record in registry.models():
        verdict = ""
        if record.promotable is not None:
            verdict = (
                " · promotable"
                if record.promotable
                else " · refused: " + "; ".join(record.refusals)
            )
        print(
            f"{record.id}  {record.status:<8} {record.created_by}, "
            f"{record.created_at:%Y-%m-%d %H:%M}  {record.stage}{verdict}",
            file=out,
        )
    for done in registry.switches(10):
        print(
            f"{done.action} {done.model_id} by {done.by} at {done.started_at:%Y-%m-%d %H:%M} "
            f"({done.status}) {done.detail}",
            file=out,
        )
    for instance in registry.instances():
        api = "API on" if instance.api else "API off"
        print(f"instance {instance.url} (pid {instance.pid}, {api}, {instance.model})", file=out)
    return 0
