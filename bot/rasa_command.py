"""`rasa train`, `rasa test` and `rasa data`, with this project's adaptations of Rasa installed
(bot/rasa_compat.py) before Rasa loads anything: `make train` (bot.training), the model tests
and the benchmarks run Rasa's own command line this way.

    python -m bot.rasa_command train --force --out models ...

A server is started with bot.prod.rasa_server (it keeps the API token off the command line),
so `run` and `shell` are refused here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = ("train", "test", "data")


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in COMMANDS:
        raise SystemExit(
            f"usage: python -m bot.rasa_command {{{','.join(COMMANDS)}}} ...: Rasa's own "
            "command with this project's adaptations (servers: python -m bot.prod.rasa_server)"
        )
    sys.argv = ["rasa", *arguments]
    from rasa.__main__ import main as rasa_main

    from bot import rasa_compat

    rasa_compat.install()
    rasa_main()


if __name__ == "__main__":
    main()
