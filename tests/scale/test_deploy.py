"""The Kubernetes manifests in deploy/k8s: valid against Kubernetes's own schemas, HTTPS only,
a network policy that lets only the ingress reach Rasa and only Rasa reach the action servers
and the databases, and Rasa's HTTP API off unless its token (a mounted Secret file) is set."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.rasa_command import rasa_arguments
from bot.settings import MissingSecret, Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
# The oldest Kubernetes still supported by the major clouds when this was written; the schemas
# ship inside the kubernetes-validate wheel, so this runs offline.
KUBERNETES_VERSION = "1.28.0"
NAMESPACE = "careers"
DATABASE = "10.20.0.5"  # an address in the policy's DATABASE_CIDR
TOKEN = "t" * 40


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":  # kustomize's own file, not an API object
            continue
        found += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return found


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


@pytest.mark.parametrize(
    "document",
    [d for _, d in documents()],
    ids=[f"{name}:{d['kind']}/{d['metadata']['name']}" for name, d in documents()],
)
def test_every_manifest_is_valid_against_the_kubernetes_schema(document: dict[str, Any]) -> None:
    """Strict: an unknown field (a typo, a field in the wrong place) is an error too."""
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misplaced_field() -> None:
    deployment = objects("Deployment")["careers-rasa"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_kustomization_resource_exists_and_every_manifest_is_listed() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization["resources"]) == listed


def test_the_ingresses_serve_https_only() -> None:
    ingresses = objects("Ingress")
    assert ingresses
    for ingress in ingresses.values():
        hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        covered = {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}
        assert hosts <= covered
        assert all(tls["secretName"] for tls in ingress["spec"]["tls"])
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"


# --- the network policy, evaluated as Kubernetes does ----------------------------------------


@dataclass(frozen=True)
class Pod:
    labels: dict[str, str]
    namespace: str = NAMESPACE
    namespace_labels: dict[str, str] = field(default_factory=dict)

    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


INGRESS_CONTROLLER = Pod({"app.kubernetes.io/name": "ingress-nginx"}, "ingress-nginx")
RASA = Pod({"app": "careers-rasa"})
ACTIONS = Pod({"app": "careers-actions"})
JOB = Pod({"app": "careers-create-tables"})
PURGE = Pod({"app": "careers-log-purge"})
OTHER_IN_NAMESPACE = Pod({"app": "something-else"})
ELSEWHERE = Pod({"app": "careers-rasa"}, "default")


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels is evaluated here"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def peer_matches(peer: dict[str, Any], other: Pod | str, policy_namespace: str) -> bool:
    if isinstance(other, str):  # an IP address
        if "ipBlock" not in peer:
            return False
        address = ipaddress.ip_address(other)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.ns_labels()):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], other.labels)


def allowed(source: Pod, destination: Pod | str, port: int, protocol: str = "TCP") -> bool:
    """Whether the policies let `source` open a connection to `destination` on `port`: the
    source's egress and (for a pod of ours) the destination's ingress must both allow it."""
    policies = list(objects("NetworkPolicy").values())

    def side(pod: Pod, direction: str, other: Pod | str) -> bool:
        if pod.namespace != NAMESPACE:
            return True  # not ours: no policy of ours applies
        kind, rules_key, peers_key = (
            ("Ingress", "ingress", "from") if direction == "in" else ("Egress", "egress", "to")
        )
        selecting = [
            p
            for p in policies
            if selects(p["spec"]["podSelector"], pod.labels)
            and kind in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(rules_key) or []:
                peers = rule.get(peers_key)
                ports = rule.get("ports")
                peer_ok = peers is None or any(peer_matches(p, other, NAMESPACE) for p in peers)
                port_ok = ports is None or any(
                    p.get("port") == port and p.get("protocol", "TCP") == protocol for p in ports
                )
                if peer_ok and port_ok:
                    return True
        return False

    egress = side(source, "out", destination)
    ingress = isinstance(destination, str) or side(destination, "in", source)
    return egress and ingress


def test_only_the_ingress_controller_reaches_rasa() -> None:
    assert allowed(INGRESS_CONTROLLER, RASA, 5005)
    for source in (ACTIONS, OTHER_IN_NAMESPACE, JOB, PURGE, ELSEWHERE):
        assert not allowed(source, RASA, 5005), source
    assert not allowed(INGRESS_CONTROLLER, ACTIONS, 5055)


def test_only_rasa_reaches_the_action_servers() -> None:
    assert allowed(RASA, ACTIONS, 5055)
    for source in (INGRESS_CONTROLLER, OTHER_IN_NAMESPACE, JOB, ELSEWHERE):
        assert not allowed(source, ACTIONS, 5055), source


def test_only_rasa_and_the_migration_and_purge_jobs_reach_the_databases() -> None:
    assert allowed(RASA, DATABASE, 5432)
    assert allowed(RASA, DATABASE, 6379)
    for job in (JOB, PURGE):
        assert allowed(job, DATABASE, 5432)
        assert not allowed(job, DATABASE, 6379)
        assert not allowed(job, "149.154.167.220", 443)
    for source in (ACTIONS, OTHER_IN_NAMESPACE):
        assert not allowed(source, DATABASE, 5432), source
        assert not allowed(source, DATABASE, 6379), source
    assert not allowed(RASA, DATABASE, 22)


def test_rasa_reaches_the_providers_but_not_other_internal_services() -> None:
    assert allowed(RASA, "149.154.167.220", 443)  # api.telegram.org
    assert not allowed(RASA, "10.0.0.10", 443)
    assert not allowed(RASA, "169.254.169.254", 80)  # the cloud's metadata service
    assert not allowed(ACTIONS, "149.154.167.220", 443)


# --- Rasa's HTTP API -----------------------------------------------------------------------


def test_rasa_pods_turn_the_api_on_only_with_a_token_from_a_secret_file() -> None:
    pod = objects("Deployment")["careers-rasa"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    command = container["command"]
    assert command[:4] == ["python", "-m", "bot.rasa_command", "run"]
    assert not [a for a in command if a.startswith(("--enable-api", "--auth-token"))]
    assert "$(" not in " ".join(command)
    token_file = next(e["value"] for e in container["env"] if e["name"] == "RASA_API_TOKEN_FILE")
    mount = next(m for m in container["volumeMounts"] if token_file.startswith(m["mountPath"]))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["optional"] is True  # no secret: no file, API off
    secret = objects("Secret")[volume["secret"]["secretName"]]
    assert Path(token_file).name in secret["stringData"]
    assert "RASA_API_TOKEN" not in objects("Secret")["careers-secrets"]["stringData"]


def test_the_api_is_on_only_with_a_token() -> None:
    options = ["--model", "m.tar.gz", "--port", "5005"]
    assert rasa_arguments("run", options, None) == ["run", *options]
    api = ["--enable-api", "--auth-token", TOKEN]
    assert rasa_arguments("run", options, TOKEN) == ["run", *options, *api]
    # The shell (a server of its own) never turns the API on, with or without a token.
    assert rasa_arguments("shell", options, TOKEN) == ["shell", *options]
    for command in ("run", "shell", "train"):
        for refused in ("--enable-api", "--auth-token=x", "--jwt-secret"):
            with pytest.raises(SystemExit, match="RASA_API_TOKEN"):
                rasa_arguments(command, [*options, refused], TOKEN)


def test_the_token_may_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    assert Settings.from_env({"RASA_API_TOKEN_FILE": str(path)}).serving.rasa_api_token is None
    path.write_text(TOKEN + "\n")
    assert Settings.from_env({"RASA_API_TOKEN_FILE": str(path)}).serving.rasa_api_token == TOKEN
    path.write_text("short")
    with pytest.raises(MissingSecret, match="RASA_API_TOKEN"):
        Settings.from_env({"RASA_API_TOKEN_FILE": str(path)})


def test_the_purge_cronjob_runs_the_purge_command_hourly_one_at_a_time() -> None:
    """The same command an operator runs (`python -m bot log purge`, docs/privacy.md)."""
    cronjob = objects("CronJob")["careers-log-purge"]
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["schedule"].split()[1:] == ["*", "*", "*", "*"]  # every hour
    pod = spec["jobTemplate"]["spec"]["template"]
    assert pod["metadata"]["labels"] == PURGE.labels
    [container] = pod["spec"]["containers"]
    assert container["command"] == ["python", "-m", "bot", "log", "purge"]
    sources = [next(iter(source.values()))["name"] for source in container["envFrom"]]
    assert sources == ["careers-config", "careers-secrets"]
    config = objects("ConfigMap")["careers-config"]["data"]
    secrets = {"REVIEW_SECRET": "r" * 40, "SENDER_ID_KEY": "s" * 40}  # as the Secret holds
    assert Settings.from_env({**config, **secrets}).privacy.retention_days == 30
