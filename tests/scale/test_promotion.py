"""A promotion across the production profile's two Rasa instances (issue 21): both registered
themselves, both are switched with the API token, a conversation through nginx carries on, and
a rollback puts both back. The candidate is the trained model re-compressed (other bytes, the
same model), so the profile answers as before whichever it runs."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.prod.cluster import Cluster
from bot.registry import switch
from bot.registry.records import DONE, Paths, Registry
from bot.settings import ServingSettings, Settings
from tests.support.cluster import API_TOKEN
from tests.support.http import Conversation, get
from tests.support.registry import compared_candidate
from tests.support.servers import HOST, wait_for

CANDIDATE = "20261203-130000-prod"


@pytest.fixture
def cluster_registry(cluster: Cluster, model: Path, tmp_path: Path) -> Iterator[Registry]:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    (models_dir / "careers.tar.gz").write_bytes(model.read_bytes())
    registry = Registry(make_engine(cluster.tracker_store_url), Paths(models_dir))
    yield registry
    registry.engine.dispose()


def running_models(cluster: Cluster) -> list[str]:
    found = []
    for port in cluster.layout.rasa:
        reply = get(f"http://{HOST}:{port}/status?token={API_TOKEN}")
        assert reply.status == 200, reply
        found.append(reply.json()["model_file"])
    return found


def test_a_promotion_switches_both_instances_and_a_rollback_both_back(
    cluster: Cluster, cluster_registry: Registry, role_store_url: str
) -> None:
    registry = cluster_registry
    urls = sorted(f"http://{HOST}:{port}" for port in cluster.layout.rasa)
    wait_for(
        lambda: sorted(i.url for i in switch.reachable(registry)) == urls,
        120,
        "both Rasa instances to be registered",
    )
    original = registry.paths.live.read_bytes()
    compared_candidate(registry, CANDIDATE, gzip.compress(gzip.decompress(original), 6))
    settings = Settings(
        tracker_store_url=cluster.tracker_store_url,
        models_dir=registry.paths.models_dir,
        role_store_url=role_store_url,
        serving=ServingSettings(rasa_api_token=API_TOKEN),
    )
    visitor = Conversation(cluster.public_url, "promotion-visitor")
    assert visitor.text("tell me what an AP does")

    out = io.StringIO()
    promoted = switch.promote(settings, CANDIDATE, "alice", out)
    try:
        assert promoted == 0
        assert out.getvalue().startswith(f"Promoted {CANDIDATE} by alice: 2 instance(s)")
        assert running_models(cluster) == [f"{CANDIDATE}.tar.gz"] * 2
        assert "Society of Radiographers" in visitor.text("and how would they get accredited")
    finally:
        if promoted == 0:  # the profile runs what it started with for the next test
            assert switch.rollback(settings, "bob", io.StringIO()) == 0
    previous = registry.live().id
    assert previous is not None
    assert running_models(cluster) == [f"{previous}.tar.gz"] * 2
    assert [(s.action, s.status) for s in registry.switches()] == [
        ("rollback", DONE),
        ("promote", DONE),
    ]
    assert visitor.text("thanks")
