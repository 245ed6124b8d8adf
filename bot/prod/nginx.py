"""nginx in front of the Rasa instances, the action servers and the careers page.

The configuration is made from `nginx.conf.j2` for each run (ports, limits and paths filled
in) and checked with `nginx -t` before nginx starts.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, fields
from pathlib import Path

import jinja2

from bot.channels.replies import APOLOGY
from bot.prod.processes import system_binary

TEMPLATE = Path(__file__).with_name("nginx.conf.j2")
# For what nginx answers itself and what Rasa answers (JSON): nothing may load or frame it.
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "$security_nosniff",
    "Referrer-Policy": "$security_referrer",
    "X-Frame-Options": "$security_frame",
    "Content-Security-Policy": "$security_csp",
}


@dataclass(frozen=True)
class NginxConfig:
    """What the generated configuration needs to know."""

    directory: Path
    host: str
    public_port: int
    actions_port: int
    web_port: int
    rasa_ports: tuple[int, ...]
    action_ports: tuple[int, ...]
    max_body_bytes: int
    rate_limit: int
    rate_burst: int
    # Where the logs go (kept when the run's directory is thrown away); default: directory.
    log_dir: Path | None = None
    name: str = "nginx"
    worker_processes: str = "auto"

    @property
    def path(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def access_log(self) -> Path:
        return (self.log_dir or self.directory) / f"{self.name}-access.log"

    @property
    def error_log(self) -> Path:
        return (self.log_dir or self.directory) / f"{self.name}-error.log"


def nginx_string(text: str) -> str:
    """`text` inside an nginx single-quoted string (nginx would expand a `$`: refused)."""
    if "$" in text:
        raise ValueError("a $ in an nginx string would be read as a variable")
    return text.replace("\\", "\\\\").replace("'", "\\'")


def render(config: NginxConfig) -> str:
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    template = environment.from_string(TEMPLATE.read_text())
    headers = "\n".join(
        f"add_header {name} {value} always;" for name, value in SECURITY_HEADERS.items()
    )
    apology = json.dumps([{"recipient_id": "", "text": APOLOGY}])
    return template.render(
        **{f.name: getattr(config, f.name) for f in fields(config)},
        access_log=config.access_log,
        error_log=config.error_log,
        default_csp=DEFAULT_CSP,
        security_headers=headers,
        apology_json=nginx_string(apology),
    )


def write(config: NginxConfig) -> Path:
    """Write the configuration and check it with `nginx -t`; ValueError with nginx's words."""
    config.directory.mkdir(parents=True, exist_ok=True)
    config.access_log.parent.mkdir(parents=True, exist_ok=True)
    # Worker processes run as an unprivileged user when nginx is started as root.
    config.directory.chmod(0o755)
    (config.directory / "tmp").mkdir(exist_ok=True)
    config.path.write_text(render(config))
    checked = subprocess.run(
        [*command(config), "-t", "-q"], capture_output=True, text=True, check=False
    )
    if checked.returncode != 0:
        raise ValueError(f"nginx refused {config.path}: {checked.stderr.strip()}")
    return config.path


def command(config: NginxConfig) -> list[str]:
    """nginx in the foreground with this run's files (`-e`: not the system's error log)."""
    return [
        system_binary("nginx", "/usr/sbin/nginx", "nginx"),
        "-p",
        str(config.directory),
        "-c",
        str(config.path),
        "-e",
        str(config.error_log),
    ]
