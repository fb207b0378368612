"""Connecting: clear errors for what a user can get wrong."""

from __future__ import annotations

import socket

import pytest

from indexer.config import load_settings
from indexer.errors import ClusterError, ClusterUnavailableError, ConfigError
from indexer.search import connect
from indexer.search.client import _check_version


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_cluster_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", f"http://127.0.0.1:{_closed_port()}")

    with pytest.raises(ClusterUnavailableError, match="INDEXER_ES_URL"):
        connect(load_settings())


def test_missing_ca_certificate_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("INDEXER_ES_CA_CERTS", "/nonexistent/ca.pem")

    with pytest.raises(ConfigError, match="INDEXER_ES_CA_CERTS"):
        connect(load_settings())


@pytest.mark.parametrize("version", ["7.17.9", "6.8.0", "8.19.2"])
def test_old_cluster_is_refused_with_the_version(version: str) -> None:
    with pytest.raises(ClusterError, match=version):
        _check_version(version, "http://old:9200")


def test_the_real_node_passes_the_version_check(es_client: object) -> None:
    from indexer.search import cluster_version

    version = cluster_version(load_settings().es)

    assert int(version.split(".")[0]) >= 9
