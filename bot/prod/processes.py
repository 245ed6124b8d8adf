"""The processes of the production profile, each of which can be started, stopped or killed.

The fault tests stop PostgreSQL, Redis, an action server or a Rasa instance while the others
run, then start it again on the same port with the same data: so each is a `Service` of its
own rather than one block of start-up code.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot import serve
from bot.settings import PROJECT_ROOT

HOST = serve.HOST

# How a service says it is ready: given the running service and a timeout, return or raise.
ReadyCheck = Callable[["Service", float], None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def system_binary(name: str, path: str, package: str) -> str:
    """A program from a Debian package, on PATH or where Debian puts it (/usr/sbin for root)."""
    found = shutil.which(name) or (path if os.path.exists(path) else None)
    if found is None:
        raise RuntimeError(
            f"{name} is not installed: run `make system` (apt-get install {package})"
        )
    return found


class Service:
    """One long-running process with its log file, started in its own process group."""

    def __init__(
        self,
        name: str,
        command: list[str],
        *,
        log_path: Path,
        ready: ReadyCheck,
        env: dict[str, str] | None = None,
        stop_signal: int = signal.SIGTERM,
        start_timeout: float = 120,
        cwd: Path = PROJECT_ROOT,
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.command = command
        self.log_path = log_path
        self.ready = ready
        self.env = env if env is not None else serve.base_env()
        self.stop_signal = stop_signal
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start the process (appending to its log) without waiting for it to be ready."""
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        try:
            self.ready(self, self.start_timeout)
        except Exception:
            self.stop()
            raise

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def stop(self) -> None:
        """A clean stop (the service's own stop signal), a kill after 20 s."""
        if self.process is not None:
            serve.stop(self.process, signal_number=self.stop_signal)

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill would: no clean-up."""
        if self.running:
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_together(services: Iterable[Service]) -> None:
    """Launch every service, then wait for each: Rasa instances load their models in parallel."""
    started = list(services)
    for service in started:
        service.launch()
    for service in started:
        service.wait_ready()


def http_ready(url: str) -> ReadyCheck:
    def check(service: Service, timeout: float) -> None:
        assert service.process is not None
        serve.wait_until_up(url, service.process, service.name, timeout)

    return check


def port_ready(port: int) -> ReadyCheck:
    def check(service: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not service.running:
                raise RuntimeError(f"{service.name} exited while starting (see {service.log_path})")
            with socket.socket() as sock:
                if sock.connect_ex((HOST, port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{service.name} did not listen on {HOST}:{port} within {timeout} s")

    return check


def answers(url: str, timeout: float = 5) -> bool:
    """Whether `url` answers 200 now (used to wait for recovery, bounded by the caller)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


# --- PostgreSQL ----------------------------------------------------------------------------


def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: run `make system` (apt-get install postgresql)"
        )
    return Path(found[-1]).parent


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgreSQL:
    """A throw-away cluster on 127.0.0.1 trusting local connections: the one launcher, used by
    `make run-prod` and by the tests.

    Its data lives in a new folder under the system's temporary directory, never under the
    checkout: as root, PostgreSQL runs as the postgres user, who cannot enter a checkout in a
    0700 home (/root/...) or a `mktemp -d` folder. Its programs also run from that folder, so
    no working directory it cannot enter is inherited. It keeps its data across
    `service.stop()` and `service.start()`, as a database server that goes down and comes
    back does; `remove()` stops it and deletes the data.
    """

    DATABASE = "careers"
    USER = "careers"

    def __init__(self, port: int, log_dir: Path) -> None:
        self.port = port
        self.bindir = postgres_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix="careers-postgres-"))
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = self.directory / "data"
        command = [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(port),
            "-h",
            HOST,
            "-k",
            str(self.directory),
            "-c",
            "max_connections=300",
            # No fsync: the data is thrown away, and a clean stop still writes everything.
            "-F",
        ]
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every pooled client.
        self.service = Service(
            "postgres",
            _as_postgres(command),
            log_path=log_dir / f"postgres-{port}.log",
            ready=self._ready,
            stop_signal=signal.SIGINT,
            start_timeout=60,
            cwd=self.directory,
        )

    @property
    def url(self) -> str:
        return self.database_url(self.DATABASE)

    def database_url(self, database: str) -> str:
        return f"postgresql+psycopg2://{self.USER}@{HOST}:{self.port}/{database}"

    def create(self) -> None:
        """initdb, start, create the database."""
        self._run(
            "initdb",
            _as_postgres(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
        )
        self.service.start()
        self.create_database(self.DATABASE)

    def create_database(self, name: str) -> str:
        """Another empty database in the cluster; returns its URL."""
        self._run(
            "createdb",
            [
                str(self.bindir / "createdb"),
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                self.USER,
                name,
            ],
        )
        return self.database_url(name)

    def remove(self) -> None:
        self.service.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, name: str, command: list[str]) -> None:
        """Run one of PostgreSQL's programs; its error output is the exception's message."""
        result = subprocess.run(command, cwd=self.directory, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed (exit {result.returncode}): {result.stderr.strip()}")

    def _ready(self, service: Service, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not service.running:
                raise RuntimeError(f"PostgreSQL exited while starting (see {service.log_path})")
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port)],
                cwd=self.directory,
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL was not ready on port {self.port} within {timeout} s")


@contextmanager
def throwaway_postgres(port: int, log_dir: Path) -> Iterator[PostgreSQL]:
    """A throw-away PostgreSQL, created, running until the block ends, then removed."""
    server = PostgreSQL(port, log_dir)
    try:
        server.create()
        yield server
    finally:
        server.remove()


# --- Redis ---------------------------------------------------------------------------------


def redis_service(directory: Path, port: int, log_dir: Path) -> Service:
    """A Redis on 127.0.0.1 that keeps nothing on disk: it only holds conversation locks."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        system_binary("redis-server", "/usr/bin/redis-server", "redis-server"),
        "--bind",
        HOST,
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
    ]
    return Service(
        "redis", command, log_path=log_dir / "redis.log", ready=port_ready(port), start_timeout=30
    )


def redis_url(port: int, db: int = 1) -> str:
    return f"redis://{HOST}:{port}/{db}"
