"""Shared fixtures: the real Elasticsearch node and per-test index names.

The node is the project's own (`indexer es start`), or the cluster at INDEXER_ES_URL. A node
that cannot start is a test error, never a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

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

    Test sessions hold a shared lock while they use the node; the session that started it stops
    it at the end only if no other session (another `make test`) still holds the lock.
    """
    node = EmbeddedNode(es_settings) if es_settings.es.is_embedded else None
    with contextlib.ExitStack() as stack:
        if node is not None:
            node.home.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context((node.home / "test-sessions.lock").open("a"))
            fcntl.flock(lock, fcntl.LOCK_SH)
        was_running = node is None or node.status().is_running
        client = connect(es_settings)
        client.cluster.health(wait_for_status="yellow", timeout="60s")
        yield client
        client.close()
        if node is not None and not was_running and _is_last_session(lock):
            node.stop()


def _is_last_session(lock: TextIO) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


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
