"""The one way into Rasa: `rasa run`, `shell`, `train`, `test` and `data`, each with this
project's adaptations of Rasa (bot/rasa_compat.py) installed before Rasa loads anything.

    python -m bot.rasa_command run --model models/careers.tar.gz --port 5005 ...
    python -m bot.rasa_command shell --model models/careers.tar.gz
    python -m bot.rasa_command train --force --out models ...
    python -m bot.rasa_command data validate ...

Every Rasa server is started with `run`: `make run` and the tests (bot.serve), `make run-prod`
(bot.prod.cluster), the container (deploy/). `make shell` uses `shell`; `make train`
(bot.training), a candidate model (bot.registry.candidate), the model tests and the benchmarks
use `train`, `test` and `data`.

Stock Rasa takes the API token as an argument (`rasa run --enable-api --auth-token TOKEN`),
where anyone on the machine can read it (`ps`, /proc/PID/cmdline), and a Kubernetes manifest
that passes `--auth-token=$(RASA_API_TOKEN)` turns the API on with the literal token
"$(RASA_API_TOKEN)" when the variable is missing. Here the token comes from the settings
(RASA_API_TOKEN, or the file RASA_API_TOKEN_FILE names: a mounted Secret) and is handed to
Rasa's own command line parser inside this process; without a token the API stays off, and
no command accepts the options that turn it on. Each server registers itself in the
conversation log's database (bot.registry.instances), so that `python -m bot model promote`
reaches every running instance.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = ("run", "shell", "train", "test", "data")

# Only `run` turns the API on, and only with the token from the settings.
REFUSED = ("--enable-api", "--auth-token", "--jwt-secret", "--jwt-method", "--jwt-private-key")


def rasa_arguments(command: str, arguments: Sequence[str], token: str | None) -> list[str]:
    """Rasa's command line for `command` with `arguments`: for `run`, plus the API and its
    token when there is a token. The options that turn the API on are refused everywhere."""
    for argument in arguments:
        if argument.split("=", 1)[0] in REFUSED:
            raise SystemExit(
                f"error: {argument.split('=', 1)[0]} is not accepted here: set RASA_API_TOKEN "
                "(or RASA_API_TOKEN_FILE) to turn Rasa's HTTP API on"
            )
    api = ["--enable-api", "--auth-token", token] if token and command == "run" else []
    return [command, *arguments, *api]


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in COMMANDS:
        raise SystemExit(
            f"usage: python -m bot.rasa_command {{{','.join(COMMANDS)}}} ...: Rasa's own "
            "command with this project's adaptations"
        )
    command, rest = arguments[0], arguments[1:]
    token = None
    if command == "run":
        from bot.settings import get_settings

        token = get_settings().serving.rasa_api_token
    # Rasa's parser reads sys.argv; this process's /proc/PID/cmdline keeps what it was
    # started with, which holds no token.
    sys.argv = ["rasa", *rasa_arguments(command, rest, token)]
    from rasa.__main__ import main as rasa_main

    from bot import rasa_compat

    if command == "shell":
        rasa_compat.install_shell()
    else:
        rasa_compat.install()
    if command == "run":
        from bot.registry import instances

        instances.install()
    rasa_main()


if __name__ == "__main__":
    main()
