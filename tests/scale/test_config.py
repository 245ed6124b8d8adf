"""The production profile's settings, the nginx configuration it writes, and the REST
channel's request checks: no servers needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import serve
from bot.channels.rest import BadRequest, clean_text, parse_body
from bot.prod import nginx
from bot.prod.cluster import Layout, check_production, nginx_config, serving_env
from bot.settings import PROJECT_ROOT, MissingSecret, ServingSettings, Settings

SECRET = "s" * 40


def test_serving_defaults() -> None:
    serving = Settings.from_env({}).serving
    assert serving == ServingSettings()
    assert serving.lock_store_url is None
    assert serving.rasa_api_token is None  # the HTTP API stays off
    assert (serving.rasa_instances, serving.action_instances) == (2, 2)
    assert (serving.max_message_length, serving.max_body_bytes) == (2000, 65536)


def test_serving_from_the_environment() -> None:
    serving = Settings.from_env(
        {
            "LOCK_STORE_URL": "redis://:pw@cache:6379/2",
            "RASA_INSTANCES": "4",
            "ACTION_INSTANCES": "3",
            "RASA_API_TOKEN": SECRET,
            "MAX_MESSAGE_LENGTH": "500",
            "MAX_BODY_BYTES": "10000",
            "RATE_LIMIT": "5",
            "RATE_BURST": "7",
        }
    ).serving
    assert serving == ServingSettings(
        lock_store_url="redis://:pw@cache:6379/2",
        rasa_instances=4,
        action_instances=3,
        rasa_api_token=SECRET,
        max_message_length=500,
        max_body_bytes=10000,
        rate_limit=5,
        rate_burst=7,
    )
    assert "pw" not in repr(serving) and SECRET not in repr(serving)


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_bad_number_stops_start_up(value: str) -> None:
    with pytest.raises(ValueError, match="RASA_INSTANCES"):
        Settings.from_env({"RASA_INSTANCES": value})


def test_a_short_api_token_stops_start_up() -> None:
    with pytest.raises(MissingSecret, match="RASA_API_TOKEN"):
        Settings.from_env({"RASA_API_TOKEN": "secret"})


def test_production_refuses_throw_away_stores() -> None:
    production = {"ENVIRONMENT": "production", "REVIEW_SECRET": SECRET, "SENDER_ID_KEY": SECRET}
    with pytest.raises(MissingSecret, match="TRACKER_STORE_URL"):
        check_production(Settings.from_env(production))
    with pytest.raises(MissingSecret, match="LOCK_STORE_URL"):
        check_production(
            Settings.from_env({**production, "TRACKER_STORE_URL": "postgresql://db/careers"})
        )
    check_production(
        Settings.from_env(
            {
                **production,
                "TRACKER_STORE_URL": "postgresql://db/careers",
                "LOCK_STORE_URL": "redis://cache:6379/1",
            }
        )
    )


def test_instances_get_the_limits_and_stores_in_their_environment() -> None:
    settings = Settings.from_env({"MAX_MESSAGE_LENGTH": "300", "MAX_BODY_BYTES": "4096"})
    env = serving_env(settings, "postgresql://db/careers", "redis://cache/1")
    assert env["TRACKER_STORE_URL"] == "postgresql://db/careers"
    assert env["LOCK_STORE_URL"] == "redis://cache/1"
    assert env["MAX_MESSAGE_LENGTH"] == "300"
    assert env["SANIC_REQUEST_MAX_SIZE"] == env["MAX_BODY_BYTES"] == "4096"


def test_every_process_gets_its_own_port() -> None:
    layout = Layout.allocate(rasa_instances=3, action_instances=2, public=8000)
    ports = [layout.public, layout.actions_proxy, layout.web, layout.postgres, layout.redis]
    ports += [*layout.rasa, *layout.actions]
    assert len(set(ports)) == len(ports) == 10
    assert layout.public == 8000


def config(tmp_path: Path) -> nginx.NginxConfig:
    settings = Settings.from_env({"RATE_LIMIT": "7", "RATE_BURST": "9"})
    layout = Layout(
        public=18000, actions_proxy=18001, web=18002, rasa=(18010, 18011), actions=(18020, 18021),
        postgres=18030, redis=18031,
    )  # fmt: skip
    return nginx_config(settings, layout, tmp_path / "nginx")


def upstream(text: str, name: str) -> str:
    match = re.search(r"upstream " + name + r" \{(.*?)\}", text, re.S)
    assert match, name
    return match.group(1)


def test_the_nginx_configuration(tmp_path: Path) -> None:
    text = nginx.render(config(tmp_path))
    rest, socketio = upstream(text, "rasa"), upstream(text, "rasa_socketio")
    for port in (18010, 18011):
        assert f"server 127.0.0.1:{port} " in rest and f"server 127.0.0.1:{port} " in socketio
    assert "ip_hash;" in socketio and "ip_hash" not in rest  # sticky only where it must be
    assert "server 127.0.0.1:18020 " in upstream(text, "actions")
    assert "listen 127.0.0.1:18000;" in text and "listen 127.0.0.1:18001;" in text
    assert "client_max_body_size 65536;" in text
    assert "rate=7r/s" in text and text.count("burst=9 nodelay") == 2
    assert "non_idempotent" not in text.split("upstream actions")[0]  # never re-send a message
    for header in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert f"add_header {header} " in text
    assert "daemon off;" in text and str(tmp_path / "nginx" / "nginx.pid") in text


def test_nginx_accepts_the_configuration(tmp_path: Path, nginx_binary: str) -> None:
    path = nginx.write(config(tmp_path))  # runs `nginx -t`
    assert path.exists()


def test_the_apology_nginx_sends_is_json() -> None:
    text = nginx.render(config(Path("/tmp/unused")))
    quoted = re.search(r"return 503 '(.*)';", text)
    assert quoted
    body = quoted.group(1).replace("\\'", "'").replace("\\\\", "\\")
    assert json.loads(body)[0]["text"].startswith("Sorry, I can't answer that right now")


def test_nginx_strings_refuse_variables() -> None:
    with pytest.raises(ValueError):
        nginx.nginx_string("costs $5")
    assert nginx.nginx_string("it's") == "it\\'s"


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"[]",
        b"null",
        b"",
        b'{"sender": "a"}',
        b'{"message": "hi"}',
        b'{"sender": " ", "message": "hi"}',
        b'{"sender": "a\\u0007", "message": "hi"}',
        b'{"sender": "a", "message": 1}',
        b'{"sender": "a", "message": "hi", "metadata": "x"}',
        b"[" * 3000,
    ],
)
def test_parse_body_refuses(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_body(body)


def test_parse_body_accepts_a_message() -> None:
    body = b'{"sender": "me", "message": "hi", "metadata": {"a": 1}, "input_channel": "x"}'
    assert parse_body(body) == ("me", "hi", {"a": 1})


def test_clean_text_keeps_words_and_newlines() -> None:
    assert clean_text("a\x00b\tc\nd\r\x7f\ud800é🙂") == "ab\tc\nd\ré🙂"


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every Kubernetes object in deploy/k8s (the secret example excluded), by kind and name."""
    found = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name in ("kustomization.yaml", "secret.example.yaml"):
            continue
        for document in yaml.safe_load_all(path.read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def test_the_kubernetes_manifests_have_the_same_shape_as_run_prod() -> None:
    objects = manifests()
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    listed = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }
    assert set(kustomization["resources"]) == listed
    rasa = objects[("Deployment", "careers-rasa")]
    assert rasa["spec"]["replicas"] >= 2
    container = rasa["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:4] == ["python", "-m", "bot.rasa_command", "run"]
    assert {"secretRef": {"name": "careers-secrets"}} in container["envFrom"]
    endpoints = yaml.safe_load(objects[("ConfigMap", "careers-endpoints")]["data"]["endpoints.yml"])
    assert endpoints["tracker_store"]["type"] == "bot.tracking.store.MaskingTrackerStore"
    assert endpoints["lock_store"]["type"] == "bot.locks.RedisLockStore"
    assert objects[("HorizontalPodAutoscaler", "careers-rasa")]["spec"]["minReplicas"] >= 2
    socketio = objects[("Ingress", "careers-socketio")]["metadata"]["annotations"]
    assert socketio["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    webhooks = objects[("Ingress", "careers-webhooks")]["metadata"]["annotations"]
    assert webhooks["nginx.ingress.kubernetes.io/proxy-body-size"] == "64k"
    assert "nginx.ingress.kubernetes.io/affinity" not in webhooks
    config = objects[("ConfigMap", "careers-config")]["data"]
    assert config["ENVIRONMENT"] == "production"
    assert "password" not in json.dumps(list(objects.values())).lower()


# What the test below runs in the clone: the launcher, a query, where the data was.
IN_THE_CLONE = """
from pathlib import Path
from sqlalchemy import create_engine, text
from bot.prod.processes import free_port, throwaway_postgres

with throwaway_postgres(free_port(), Path("logs")) as server:
    engine = create_engine(server.url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    print(server.data)
"""


@pytest.mark.postgres
def test_the_postgresql_launcher_works_from_a_checkout_postgres_cannot_enter() -> None:
    """As root, PostgreSQL runs as the postgres user, who cannot enter a checkout in a 0700
    folder (a home such as /root, a `mktemp -d`): its data and working directory are elsewhere."""
    outer = Path(tempfile.mkdtemp(prefix="careers-0700-"))
    try:
        outer.chmod(0o700)
        checkout = outer / "checkout"
        subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(checkout)], check=True)
        result = subprocess.run(
            [sys.executable, "-c", IN_THE_CLONE],
            cwd=checkout,
            env={**serve.base_env(), "PYTHONPATH": str(checkout)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        data = Path(result.stdout.strip().splitlines()[-1])
        assert not data.is_relative_to(outer)
        assert not data.exists()  # thrown away when the block ended
    finally:
        shutil.rmtree(outer, ignore_errors=True)
