"""Start the production profile on one machine, and stop it: `make run-prod`.

Rasa's own way to scale out: stateless Rasa servers that share a SQL tracker store
(PostgreSQL) and a Redis lock store, with action servers beside them, behind a load balancer
(nginx). PostgreSQL and Redis are started here, with throw-away data (Redis's under var/prod/,
PostgreSQL's in a temporary folder of its own: bot.prod.processes.PostgreSQL), only when
TRACKER_STORE_URL (a server database) and LOCK_STORE_URL are not given.
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from bot import locks, serve
from bot.db import make_engine
from bot.prod import nginx
from bot.prod.nginx import NginxConfig
from bot.prod.processes import (
    HOST,
    PostgreSQL,
    Service,
    free_port,
    http_ready,
    port_ready,
    redis_service,
    redis_url,
    start_together,
)
from bot.settings import VAR_DIR, MissingSecret, Settings
from bot.training import MODEL_PATH

PROD_DIR = VAR_DIR / "prod"
DEFAULT_PUBLIC_PORT = 8000


@dataclass(frozen=True)
class Layout:
    """The port of every process: the public one is nginx's, the rest are internal."""

    public: int
    actions_proxy: int
    web: int
    rasa: tuple[int, ...]
    actions: tuple[int, ...]
    postgres: int
    redis: int

    @classmethod
    def allocate(
        cls,
        rasa_instances: int,
        action_instances: int,
        public: int | None = None,
        next_port: Callable[[], int] = free_port,
    ) -> Layout:
        return cls(
            public=public if public is not None else next_port(),
            actions_proxy=next_port(),
            web=next_port(),
            rasa=tuple(next_port() for _ in range(rasa_instances)),
            actions=tuple(next_port() for _ in range(action_instances)),
            postgres=next_port(),
            redis=next_port(),
        )


@dataclass
class Cluster:
    """The running profile: where it listens, and each process, to stop or kill in tests."""

    layout: Layout
    workdir: Path
    log_dir: Path
    # May hold passwords: kept out of repr (and so out of test failure reports).
    tracker_store_url: str = field(repr=False)
    lock_store_url: str = field(repr=False)
    api_token: str | None = field(repr=False)
    postgres: PostgreSQL | None = None
    redis: Service | None = None
    rasa: list[Service] = field(default_factory=list)
    actions: list[Service] = field(default_factory=list)
    web: Service | None = None
    nginx: Service | None = None
    nginx_config: NginxConfig | None = None

    @property
    def public_url(self) -> str:
        return f"http://{HOST}:{self.layout.public}"

    def rasa_url(self, index: int) -> str:
        return f"http://{HOST}:{self.layout.rasa[index]}"


def needs_server_database(url: str) -> bool:
    """SQLite (the default) cannot be shared by several servers: start PostgreSQL instead."""
    return make_url(url).get_backend_name() == "sqlite"


def check_production(settings: Settings) -> None:
    """In production a store thrown away at exit would lose conversations: refuse to start."""
    if not settings.production:
        return
    if needs_server_database(settings.tracker_store_url):
        raise MissingSecret("ENVIRONMENT=production needs TRACKER_STORE_URL (PostgreSQL)")
    if settings.serving.lock_store_url is None:
        raise MissingSecret("ENVIRONMENT=production needs LOCK_STORE_URL (redis://...)")


def serving_env(settings: Settings, tracker_store_url: str, lock_store_url: str) -> dict[str, str]:
    """What every Rasa instance reads from its environment (bot.settings, Sanic, Rasa)."""
    serving = settings.serving
    return {
        "TRACKER_STORE_URL": tracker_store_url,
        "LOCK_STORE_URL": lock_store_url,
        "MAX_MESSAGE_LENGTH": str(serving.max_message_length),
        "MAX_BODY_BYTES": str(serving.max_body_bytes),
        # Sanic refuses a larger body itself (413) before our channel reads it.
        "SANIC_REQUEST_MAX_SIZE": str(serving.max_body_bytes),
        "SANIC_HOST": HOST,
        # What bot.rasa_command turns the HTTP API on with (empty: off), whatever the
        # caller's environment says: the settings decide.
        "RASA_API_TOKEN": serving.rasa_api_token or "",
        "RASA_API_TOKEN_FILE": "",
    }


def write_endpoints(layout: Layout, rasa_port: int, run_dir: Path) -> Path:
    """bot.serve's endpoints file, with the actions behind nginx and the Redis lock store."""
    path = serve.write_endpoints(serve.Ports(rasa=rasa_port, actions=layout.actions_proxy), run_dir)
    endpoints = yaml.safe_load(path.read_text())
    endpoints["lock_store"] = {"type": locks.TYPE}
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    return path


def rasa_command(
    settings: Settings, layout: Layout, index: int, run_dir: Path, model: Path
) -> list[str]:
    """`rasa run` as bot.serve starts it (its endpoints and channels, through
    bot.rasa_command): the HTTP API on when RASA_API_TOKEN is set, the token in the
    environment (serving_env), never on the command line."""
    ports = serve.Ports(rasa=layout.rasa[index], actions=layout.actions_proxy)
    endpoints = write_endpoints(layout, ports.rasa, run_dir)
    credentials = serve.write_credentials(ports, run_dir, settings.channels)
    return serve.rasa_server_command(ports, endpoints, model, credentials)


def create_tracker_tables(url: str) -> None:
    """Create the log's tables once, before the instances start: at the same time, two
    instances' CREATE TABLEs can collide in PostgreSQL and stop one of them."""
    from bot.tracking.store import create_tables

    engine = make_engine(url)
    try:
        create_tables(engine)
    finally:
        engine.dispose()


def nginx_config(
    settings: Settings,
    layout: Layout,
    directory: Path,
    log_dir: Path | None = None,
    name: str = "nginx",
) -> nginx.NginxConfig:
    return nginx.NginxConfig(
        directory=directory,
        log_dir=log_dir,
        name=name,
        host=HOST,
        public_port=layout.public,
        actions_port=layout.actions_proxy,
        web_port=layout.web,
        rasa_ports=layout.rasa,
        action_ports=layout.actions,
        max_body_bytes=settings.serving.max_body_bytes,
        rate_limit=settings.serving.rate_limit,
        rate_burst=settings.serving.rate_burst,
    )


def nginx_service(config: nginx.NginxConfig) -> Service:
    nginx.write(config)
    return Service(
        config.name,
        nginx.command(config),
        log_path=config.error_log.with_name(f"{config.name}.log"),
        ready=port_ready(config.public_port),
        start_timeout=30,
    )


@contextmanager
def production(
    settings: Settings,
    layout: Layout,
    *,
    model: Path = MODEL_PATH,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    start_timeout: float = 600,
) -> Iterator[Cluster]:
    """Start everything, wait until each part answers, stop it all (and the data) at the end."""
    check_production(settings)
    PROD_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=PROD_DIR))
    workdir.chmod(0o755)
    log_dir = log_dir or PROD_DIR / "logs"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        tracker_url = settings.tracker_store_url
        postgres = None
        if needs_server_database(tracker_url):
            postgres = PostgreSQL(layout.postgres, log_dir)
            stack.callback(postgres.remove)
            postgres.create()
            tracker_url = postgres.url
        lock_url = settings.serving.lock_store_url
        redis = None
        if lock_url is None:
            redis = redis_service(workdir / "redis", layout.redis, log_dir)
            stack.callback(redis.stop)
            redis.start()
            lock_url = redis_url(layout.redis)
        create_tracker_tables(tracker_url)

        cluster = Cluster(
            layout=layout,
            workdir=workdir,
            log_dir=log_dir,
            tracker_store_url=tracker_url,
            lock_store_url=lock_url,
            api_token=settings.serving.rasa_api_token,
            postgres=postgres,
            redis=redis,
        )
        env = {
            **serve.base_env(),
            **(extra_env or {}),
            **serving_env(settings, tracker_url, lock_url),
        }
        for index, port in enumerate(layout.actions):
            cluster.actions.append(
                Service(
                    f"actions-{index}",
                    serve.action_server_command(serve.Ports(actions=port)),
                    log_path=log_dir / f"actions-{index}.log",
                    ready=http_ready(f"http://{HOST}:{port}/health"),
                    env=env,
                    start_timeout=start_timeout,
                )
            )
        for index, port in enumerate(layout.rasa):
            cluster.rasa.append(
                Service(
                    f"rasa-{index}",
                    rasa_command(settings, layout, index, workdir, model),
                    log_path=log_dir / f"rasa-{index}.log",
                    ready=http_ready(f"http://{HOST}:{port}/webhooks/rest/"),
                    env=env,
                    start_timeout=start_timeout,
                )
            )
        cluster.web = Service(
            "web",
            serve.page_server_command(layout.web, cluster.public_url),
            log_path=log_dir / "web.log",
            ready=http_ready(f"http://{HOST}:{layout.web}/"),
            env=serve.base_env(),
            start_timeout=60,
        )
        cluster.nginx_config = nginx_config(settings, layout, workdir / "nginx", log_dir=log_dir)
        cluster.nginx = nginx_service(cluster.nginx_config)
        everything = [*cluster.actions, *cluster.rasa, cluster.web, cluster.nginx]
        for service in reversed(everything):
            stack.callback(service.stop)
        start_together(everything)
        yield cluster


def run_forever(settings: Settings, public_port: int = DEFAULT_PUBLIC_PORT) -> int:
    """`make run-prod`: start the profile, say where it is, wait for Ctrl-C, SIGTERM, SIGHUP."""
    serving = settings.serving
    layout = Layout.allocate(serving.rasa_instances, serving.action_instances, public=public_port)
    with socket.socket() as sock:
        try:
            sock.bind((HOST, layout.public))
        except OSError:
            print(
                f"error: port {layout.public} (nginx, the public port) on {HOST} is taken: is "
                "`make run-prod` already running? Stop it, or choose another with --port",
                file=sys.stderr,
            )
            return 1
    print(
        f"Starting {serving.rasa_instances} Rasa instance(s) and {serving.action_instances} "
        "action server(s) behind nginx (loading the models takes a while) ...",
        flush=True,
    )
    with serve.until_signalled(), production(settings, layout) as cluster:
        _say_ready(cluster)
        serve.wait_for_a_signal()
    return 0


def _say_ready(cluster: Cluster) -> None:
    instances = ", ".join(cluster.rasa_url(i) for i in range(len(cluster.layout.rasa)))
    api = (
        "Rasa's HTTP API is on each instance, with RASA_API_TOKEN"
        if cluster.api_token
        else "Rasa's HTTP API is off (set RASA_API_TOKEN to turn it on)"
    )
    print(
        f"\nReady. The careers page and the assistant are on {cluster.public_url}/\n"
        f"  REST:      curl -s -X POST {cluster.public_url}/webhooks/rest/webhook "
        f"-d '{serve.EXAMPLE}'\n"
        f"  instances: {instances}\n"
        f"  {api}.\n"
        f"  Logs in {cluster.log_dir}; data (thrown away at exit) in {cluster.workdir}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
