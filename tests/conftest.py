"""Shared fixtures: the real Elasticsearch node and per-test index names.

The node is the project's own (`indexer es start`), or the cluster at INDEXER_ES_URL. A node
that cannot start is a test error, never a skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings, load_settings
from indexer.node import EmbeddedNode
from indexer.search import connect

SHARED_DIR = Path(__file__).resolve().parents[1] / ".." / "shared"
CONTRACTS_DEV = SHARED_DIR / "data" / "contracts-dev"


@pytest.fixture(scope="session")
def es_settings() -> Settings:
    return load_settings()


@pytest.fixture(scope="session")
def es_client(es_settings: Settings) -> Iterator[Elasticsearch]:
    """A client to the real node; starts the project's node when no URL is configured.

    A node this fixture started is stopped at the end; one that already ran is left running.
    """
    node = EmbeddedNode(es_settings) if es_settings.es.is_embedded else None
    was_running = node is None or node.status().is_running
    client = connect(es_settings)
    client.cluster.health(wait_for_status="yellow", timeout="60s")
    yield client
    client.close()
    if node is not None and not was_running:
        node.stop()


@pytest.fixture
def alias(es_client: Elasticsearch) -> Iterator[str]:
    """A unique alias for one test; its indices and template are removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    es_client.indices.delete(index=f"{name}-*", ignore_unavailable=True, allow_no_indices=True)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{name}-pages")


@pytest.fixture
def settings_for(es_settings: Settings, alias: str, tmp_path: Path) -> Settings:
    """Settings that write to the test's own alias and artifacts folder."""
    return es_settings.model_copy(
        update={
            "es": es_settings.es.model_copy(update={"alias": alias}),
            "artifacts": es_settings.artifacts.model_copy(update={"dir": tmp_path / "artifacts"}),
        }
    )
