"""Start the assistant's processes on 127.0.0.1, wait until each answers, stop them together.

Used by `make run` / `make shell` (`python -m bot run|shell`) and by the end-to-end tests, so
what the tests talk to is started exactly as a user starts it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from bot.settings import PROJECT_ROOT, VAR_DIR, ChannelSettings, Settings, get_settings
from bot.training import MODEL_PATH

HOST = "127.0.0.1"
TRACKER_STORE_TYPE = "bot.tracking.store.MaskingTrackerStore"
# The messaging channels (bot/channels/), each on only when its variables are set.
CHANNEL_CLASSES = {
    "slack": "bot.channels.slack.SlackInput",
    "telegram": "bot.channels.telegram.TelegramInput",
    "facebook": "bot.channels.facebook.FacebookInput",
    "twilio": "bot.channels.twilio.TwilioInput",
    "botframework": "bot.channels.botframework.BotFrameworkInput",
}

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ports:
    rasa: int = 5005
    actions: int = 5055
    web: int = 8080
    review: int = 8081

    @classmethod
    def from_settings(cls, settings: Settings) -> Ports:
        """RASA_PORT, ACTIONS_PORT, WEB_PORT, REVIEW_PORT (the defaults above when unset)."""
        serving = settings.serving
        return cls(serving.rasa_port, serving.actions_port, serving.web_port, serving.review_port)

    def named(self) -> dict[str, tuple[int, str]]:
        """Each port with what listens on it and the variable that moves it."""
        return {
            "the Rasa server": (self.rasa, "RASA_PORT"),
            "the action server": (self.actions, "ACTIONS_PORT"),
            "the careers page": (self.web, "WEB_PORT"),
            "the review console": (self.review, "REVIEW_PORT"),
        }


class PortTaken(RuntimeError):
    """A port the assistant needs is in use: most likely `make run` is already running."""


def check_ports_free(ports: Ports) -> None:
    """Refuse to start (naming the port) rather than start half and fail at the taken port."""
    for name, (port, variable) in ports.named().items():
        with socket.socket() as sock:
            # As the servers themselves bind: a port a stopped run left in TIME_WAIT is free
            # to them, and only a socket listening on it is taken.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                raise PortTaken(
                    f"port {port} ({name}) on {HOST} is taken: is `make run` already running? "
                    f"Stop it, or choose another port with {variable}=..."
                ) from None


# SIGTERM is what systemd, Docker and CI runners send; SIGHUP a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Make SIGTERM and SIGHUP stop the block as Ctrl-C does: every child is stopped.

    Our children run in sessions of their own (so that a Ctrl-C reaches only us, and we stop
    them in order); a signal that killed this process outright would leave them running,
    holding their ports. Once stopping has begun, further signals are ignored so that they
    cannot cut the stopping short (`stop` kills a child that takes longer than 20 s).
    """

    def handler(number: int, _frame: Any) -> None:
        for other in STOP_SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(number).name)

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, action in previous.items():
            signal.signal(number, action)


@dataclass
class Running:
    """The started assistant: where it listens, and its log files."""

    ports: Ports
    logs: dict[str, Path] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://{HOST}:{self.ports.rasa}"

    @property
    def actions_url(self) -> str:
        return f"http://{HOST}:{self.ports.actions}"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def base_env() -> dict[str, str]:
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def write_endpoints(ports: Ports, run_dir: Path) -> Path:
    """endpoints.yml with the action server's port filled in, for this run."""
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text()) or {}
    action_endpoint = endpoints.get("action_endpoint") or {}
    endpoints["action_endpoint"] = {
        **action_endpoint,
        "url": f"http://{HOST}:{ports.actions}/webhook",
    }
    # The conversation log. The store reads its database URL from bot.settings
    # (TRACKER_STORE_URL in the Rasa process's environment), so no password is written here.
    endpoints["tracker_store"] = {"type": TRACKER_STORE_TYPE}
    path = run_dir / f"endpoints-{ports.rasa}.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def write_credentials(ports: Ports, run_dir: Path, channels: ChannelSettings) -> Path:
    """credentials.yml (REST, socket.io) plus each messaging channel whose variables are set.

    Only class names are written: each channel reads its secrets from bot.settings, so none
    is written to disk. A channel that is off gets one log line naming what it still needs.
    """
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text()) or {}
    for name, channel_class in CHANNEL_CLASSES.items():
        if getattr(channels, name) is None:
            unset = ", ".join(channels.missing.get(name, []))
            logger.info("The %s channel is off (not set: %s)", name, unset)
            continue
        credentials[channel_class] = None
        logger.info("The %s channel is on: POST /webhooks/%s/webhook", name, name)
    path = run_dir / f"credentials-{ports.rasa}.yml"
    path.write_text(yaml.safe_dump(credentials, sort_keys=False))
    return path


def wait_until_up(url: str, process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{name} did not answer {url} within {timeout:.0f} s")


@contextmanager
def _process(
    command: list[str], log: IO[bytes] | None, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop(process)


def stop(
    process: subprocess.Popen[bytes], timeout: float = 20, signal_number: int = signal.SIGTERM
) -> None:
    """Signal the process's group (SIGTERM; PostgreSQL shuts down fast on SIGINT), then kill."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal_number)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def action_server_command(ports: Ports) -> list[str]:
    return [_bin("python"), "-m", "rasa_sdk", "--actions", "actions", "--port", str(ports.actions)]


def rasa_server_command(
    ports: Ports, endpoints: Path, model: Path, credentials: Path | None = None
) -> list[str]:
    """`rasa run` through bot.rasa_command, which installs bot.rasa_compat first."""
    return [
        _bin("python"),
        "-m",
        "bot.rasa_command",
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials or PROJECT_ROOT / "credentials.yml"),
        "--interface",
        HOST,
        "--port",
        str(ports.rasa),
        "--cors",
        "*",
    ]


@contextmanager
def assistant(
    ports: Ports = Ports(),
    model: Path = MODEL_PATH,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Iterator[Running]:
    """Run the action server and Rasa until the block ends. Logs go to log_dir if given."""
    run_dir = VAR_DIR / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**base_env(), **(extra_env or {}), "SANIC_HOST": HOST}
    running = Running(ports)
    with ExitStack() as stack:

        def log(name: str) -> IO[bytes] | None:
            if log_dir is None:
                return None
            log_dir.mkdir(parents=True, exist_ok=True)
            running.logs[name] = log_dir / f"{name}-{ports.rasa}.log"
            return stack.enter_context(running.logs[name].open("wb"))

        actions = stack.enter_context(_process(action_server_command(ports), log("actions"), env))
        endpoints = write_endpoints(ports, run_dir)
        credentials = write_credentials(ports, run_dir, ChannelSettings.from_env(env))
        rasa = stack.enter_context(
            _process(rasa_server_command(ports, endpoints, model, credentials), log("rasa"), env)
        )
        running.processes.update(actions=actions, rasa=rasa)
        wait_until_up(f"{running.actions_url}/health", actions, "the action server", timeout)
        wait_until_up(f"{running.rasa_url}/webhooks/rest/", rasa, "the Rasa server", timeout)
        yield running


def page_server_command(port: int, rasa_url: str) -> list[str]:
    return [_bin("python"), "-m", "bot", "web", "--port", str(port), "--rasa-url", rasa_url]


@dataclass
class Launched:
    """A server process started but perhaps not answering yet: `ready()` waits for it."""

    process: subprocess.Popen[bytes]
    url: str
    ready_url: str
    name: str

    def ready(self, timeout: float = 60) -> str:
        wait_until_up(self.ready_url, self.process, self.name, timeout)
        return self.url


@contextmanager
def _launch(
    command: list[str],
    port: int,
    ready_path: str,
    name: str,
    log: tuple[Path | None, str],
    env: dict[str, str],
) -> Iterator[Launched]:
    url = f"http://{HOST}:{port}/"
    log_dir, log_name = log
    with ExitStack() as stack:
        output = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            output = stack.enter_context((log_dir / f"{log_name}-{port}.log").open("wb"))
        process = stack.enter_context(_process(command, output, env))
        yield Launched(process, url, url + ready_path, name)


def launch_page_server(
    port: int, rasa_url: str, log_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> AbstractContextManager[Launched]:
    """Start the careers page server (bot/web); `.ready()` waits until it answers."""
    command = page_server_command(port, rasa_url)
    env = {**base_env(), **(extra_env or {})}
    return _launch(command, port, "", "the careers page server", (log_dir, "web"), env)


def review_console_command(port: int) -> list[str]:
    return [_bin("python"), "-m", "bot", "review", "serve", "--port", str(port)]


def launch_review_console(
    port: int, log_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> AbstractContextManager[Launched]:
    """Start the trainers' review console (bot/review); `.ready()` waits until it answers."""
    env = {**base_env(), **(extra_env or {})}
    command = review_console_command(port)
    return _launch(command, port, "login", "the review console", (log_dir, "review"), env)


@contextmanager
def page_server(
    port: int,
    rasa_url: str,
    log_dir: Path | None = None,
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run the careers page server (bot/web) until the block ends; yields the page's URL."""
    with launch_page_server(port, rasa_url, log_dir, extra_env) as launched:
        yield launched.ready(timeout)


@contextmanager
def review_console(
    port: int,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """Run the trainers' review console (bot/review) until the block ends; yields its URL."""
    with launch_review_console(port, log_dir, extra_env) as launched:
        yield launched.ready(timeout)


EXAMPLE = '{"sender": "me", "message": "What does an assistant practitioner do?"}'


def run_forever(ports: Ports | None = None) -> int:
    """`make run`: start everything, say so, and wait for Ctrl-C, SIGTERM or SIGHUP."""
    ports = ports or Ports.from_settings(get_settings())
    try:
        check_ports_free(ports)
    except PortTaken as taken:
        print(f"error: {taken}", file=sys.stderr)
        return 1
    print("Starting the action server and the Rasa server (loading the model takes a while) ...")
    # The page and the console start while Rasa loads its model, not after it.
    with (
        until_signalled(),
        launch_page_server(ports.web, f"http://{HOST}:{ports.rasa}") as page,
        launch_review_console(ports.review) as review,
        assistant(ports) as running,
    ):
        page_url, review_url = page.ready(), review.ready()
        print(
            f"\nReady. The careers page with the chat widget is on {page_url}\n"
            f"The assistant is listening on {running.rasa_url}\n"
            f"  REST:      curl -s -X POST {running.rasa_url}/webhooks/rest/webhook "
            f"-d '{EXAMPLE}'\n"
            f"  socket.io: {running.rasa_url}/socket.io\n"
            f"The review console for trainers is on {review_url} "
            "(make an account: python -m bot review add-user NAME)\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        wait_for_a_signal()
    return 0


@contextmanager
def until_signalled() -> Iterator[None]:
    """Ctrl-C, SIGTERM or SIGHUP end the block, starting or started; what the block started is
    stopped on the way out (`make run`, `make run-prod`)."""
    # A signal while starting stops what was started, as one after.
    with stop_on_signals(), contextlib.suppress(KeyboardInterrupt):
        yield
    print("Stopped.", flush=True)


def wait_for_a_signal() -> None:
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        raise


def shell(ports: Ports = Ports()) -> int:
    """`make shell`: the action server in the background, `rasa shell` in the terminal."""
    run_dir = VAR_DIR / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**base_env(), "SANIC_HOST": HOST}
    with (
        stop_on_signals(),
        _process(action_server_command(ports), subprocess.DEVNULL, env) as actions,  # type: ignore[arg-type]
    ):
        wait_until_up(f"http://{HOST}:{ports.actions}/health", actions, "the action server", 120)
        endpoints = write_endpoints(ports, run_dir)
        credentials = write_credentials(ports, run_dir, ChannelSettings.from_env(env))
        # Our shell channel prints the sources (title and URL) that stock `rasa shell` drops.
        command = [sys.executable, "-m", "bot.rasa_command", "shell", "--model", str(MODEL_PATH)]
        command += ["--endpoints", str(endpoints)]
        command += ["--credentials", str(credentials)]
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env).returncode
