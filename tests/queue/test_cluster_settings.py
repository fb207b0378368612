"""Elasticsearch as a cluster: several hosts in INDEXER_ES_URL, replicas set in the template."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings, load_settings
from indexer.errors import ConfigError
from indexer.search import alias_indices, connect, ensure_alias, ensure_configured_alias, load_mapping
from indexer.search.mappings import template_name
from tests.factories import synthetic_pages, write_scanned_pdf
from tests.queue.cluster import ClusterNode, start_cluster, wait_health
from tests.watch.test_daemon import Daemon, _copy, _pages_of, wait_for


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_host_list_with_one_node_down_still_connects_and_indexes(
    settings_for: Settings, es_client: Elasticsearch
) -> None:
    """GIVEN INDEXER_ES_URL naming a dead node first and the live one second
    WHEN the indexer connects and writes THEN it works through the live node."""
    url = f"{_dead_url()}, {settings_for.es.effective_url}"
    es = settings_for.es.model_copy(update={"url": url})
    settings = settings_for.model_copy(update={"es": es})
    assert settings.es.hosts == [url.split(",")[0], settings_for.es.effective_url]

    client = connect(settings)
    try:
        index = ensure_alias(client, es.alias, load_mapping())
        for _ in range(3):  # the client round-robins: every request must survive the dead node
            client.index(index=es.alias, id="p1", document={"page": 1}, refresh=True)
        assert client.count(index=es.alias)["count"] == 1
        assert index.startswith(f"{es.alias}-v")
    finally:
        client.close()


def test_number_of_replicas_is_set_in_the_template_and_new_indices(
    settings_for: Settings, es_client: Elasticsearch
) -> None:
    """The setting reaches the cluster the way ingest and the server create the alias."""
    alias = settings_for.es.alias
    index = ensure_configured_alias(es_client, settings_for.es.model_copy(update={"number_of_replicas": 1}))

    settings = es_client.indices.get_settings(index=index)[index]["settings"]["index"]
    template = es_client.indices.get_index_template(name=template_name(alias))["index_templates"][0]
    assert settings["number_of_replicas"] == "1"
    assert str(template["index_template"]["template"]["settings"]["index"]["number_of_replicas"]) == "1"
    assert load_mapping().settings["number_of_replicas"] == 0  # the file's default, for one node


def test_replicas_and_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", "http://es1:9200,http://es2:9200")
    monkeypatch.setenv("INDEXER_ES__NUMBER_OF_REPLICAS", "1")
    loaded = load_settings()
    assert loaded.es.hosts == ["http://es1:9200", "http://es2:9200"]
    assert loaded.es.number_of_replicas == 1

    monkeypatch.setenv("INDEXER_ES_URL", "http://es1:9200,es2:9200")
    with pytest.raises(ConfigError, match="needs http:// or https://"):
        load_settings()


@pytest.fixture
def two_nodes(es_settings: Settings) -> Iterator[list[ClusterNode]]:
    root, nodes = start_cluster(es_settings)
    yield nodes
    for node in nodes:
        node.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_with_a_replica_a_node_can_stop_and_searching_and_indexing_go_on(
    two_nodes: list[ClusterNode], tmp_path: Path
) -> None:
    """GIVEN a two-node cluster, the daemon given both nodes and one replica WHEN the data-only
    node stops THEN searches still answer, the daemon keeps indexing, and the node rejoins."""
    first, second = two_nodes
    sources = [
        write_scanned_pdf(tmp_path / f"source-{n}.pdf", synthetic_pages(1, seed=400 + n), seed=n)
        for n in range(2)
    ]
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    state.mkdir()
    daemon = Daemon(inbox, state, "cluster-test", f"{first.url},{second.url}")
    daemon.env["INDEXER_ES__NUMBER_OF_REPLICAS"] = "1"
    client = Elasticsearch([first.url, second.url])
    daemon.start()
    try:
        _copy(sources[0], inbox / "before.pdf")
        wait_for(lambda: _pages_of(client, "cluster-test") == {"before.pdf": 1}, what="the first file")
        wait_health(first.url, status="green", nodes=2)  # the replica sits on the other node

        second.stop()
        wait_health(first.url, status="yellow", nodes=1)
        assert _pages_of(client, "cluster-test") == {"before.pdf": 1}
        _copy(sources[1], inbox / "during.pdf")
        wait_for(
            lambda: _pages_of(client, "cluster-test") == {"before.pdf": 1, "during.pdf": 1},
            what="a file indexed with a node down",
        )

        second.start()
        wait_health(first.url, status="green", nodes=2)
        index = alias_indices(client, "cluster-test")[0]
        assert (
            client.indices.get_settings(index=index)[index]["settings"]["index"]["number_of_replicas"] == "1"
        )
        assert daemon.stop() == 0
    finally:
        if daemon.is_alive:
            daemon.stop()
        client.close()
