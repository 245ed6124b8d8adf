"""`rasa run`, with this project's adaptations of Rasa installed (bot/rasa_compat.py) before
Rasa loads anything, Rasa's HTTP API on only when a token is set, and the token never on a
command line. Every Rasa server is started this way: `make run` and the tests (bot.serve),
`make run-prod` (bot.prod.cluster), the container (deploy/).

Stock Rasa takes the API token as an argument (`rasa run --enable-api --auth-token TOKEN`),
where anyone on the machine can read it (`ps`, /proc/PID/cmdline), and a Kubernetes manifest
that passes `--auth-token=$(RASA_API_TOKEN)` turns the API on with the literal token
"$(RASA_API_TOKEN)" when the variable is missing. Here the token comes from the settings
(RASA_API_TOKEN, or the file RASA_API_TOKEN_FILE names: a mounted Secret) and is handed to
Rasa's own command line parser inside this process; without a token the API stays off.

    python -m bot.prod.rasa_server --model models/careers.tar.gz --port 5005 ...

takes any `rasa run` option except those that turn the API on. Each server registers itself
in the conversation log's database (bot.registry.instances), so that `python -m bot model
promote` reaches every running instance.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.settings import get_settings

# Only this module turns the API on, and only with the token from the settings.
REFUSED = ("--enable-api", "--auth-token", "--jwt-secret", "--jwt-method", "--jwt-private-key")


def rasa_arguments(arguments: Sequence[str], token: str | None) -> list[str]:
    """`rasa run` with `arguments`, plus the API and its token when there is a token."""
    for argument in arguments:
        if argument.split("=", 1)[0] in REFUSED:
            raise SystemExit(
                f"error: {argument.split('=', 1)[0]} is not accepted here: set RASA_API_TOKEN "
                "(or RASA_API_TOKEN_FILE) to turn Rasa's HTTP API on"
            )
    api = ["--enable-api", "--auth-token", token] if token else []
    return ["run", *arguments, *api]


def main(argv: Sequence[str] | None = None) -> None:
    token = get_settings().serving.rasa_api_token
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Rasa's parser reads sys.argv; this process's /proc/PID/cmdline keeps what it was
    # started with, which holds no token.
    sys.argv = ["rasa", *rasa_arguments(arguments, token)]
    from rasa.__main__ import main as rasa_main

    from bot import rasa_compat
    from bot.registry import instances

    rasa_compat.install()
    instances.install()
    rasa_main()


if __name__ == "__main__":
    main()
