"""Connect to Elasticsearch: the project's own node by default, or the cluster at INDEXER_ES_URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as EsConnectionError
from elasticsearch import ConnectionTimeout as EsConnectionTimeout

from indexer.config import ElasticSettings, Settings
from indexer.errors import ClusterError, ClusterUnavailableError, ConfigError

__all__ = ["MIN_SERVER_MAJOR", "cluster_version", "connect", "translate_errors"]

log = logging.getLogger(__name__)

#: The 9.x Python client sends `compatible-with=9` headers, which older servers reject.
MIN_SERVER_MAJOR = 9
_PROBE_TIMEOUT_S = 10.0
TRANSIENT_STATUSES = (429, 502, 503, 504)


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn client errors into ours: unreachable or overloaded is transient, the rest is not.

    Args:
        action: what was being done, for the message (e.g. "indexing").
    """
    try:
        yield
    except (EsConnectionError, EsConnectionTimeout) as exc:
        raise ClusterUnavailableError(f"Elasticsearch unreachable while {action}: {exc}") from exc
    except ApiError as exc:
        if exc.meta.status in TRANSIENT_STATUSES:
            raise ClusterUnavailableError(f"Elasticsearch overloaded while {action}: {exc}") from exc
        raise ClusterError(f"Elasticsearch rejected a request while {action}: {exc}") from exc


def _client_options(es: ElasticSettings) -> dict[str, Any]:
    options: dict[str, Any] = {"ca_certs": str(es.ca_certs)} if es.ca_certs else {}
    if es.api_key is not None:
        options["api_key"] = es.api_key.get_secret_value()
    elif es.username is not None and es.password is not None:
        options["basic_auth"] = (es.username, es.password.get_secret_value())
    return options


def _probe_headers(es: ElasticSettings) -> dict[str, str]:
    if es.api_key is not None:
        return {"Authorization": f"ApiKey {es.api_key.get_secret_value()}"}
    return {}


def cluster_version(es: ElasticSettings) -> str:
    """Ask the cluster for its version with plain HTTP, so any server version answers.

    Raises:
        ClusterUnavailableError: the cluster cannot be reached.
        ClusterError: the credentials are refused or the answer is not Elasticsearch.
    """
    basic = (es.username, es.password.get_secret_value()) if es.username and es.password else None
    verify: bool | str = str(es.ca_certs) if es.ca_certs else es.verify_certs
    if es.ca_certs is not None and not es.ca_certs.is_file():
        raise ConfigError(f"INDEXER_ES_CA_CERTS={es.ca_certs} does not exist")
    with httpx.Client(
        auth=basic, headers=_probe_headers(es), verify=verify, timeout=_PROBE_TIMEOUT_S
    ) as http:
        url, response = _probe_first_answering(http, es.hosts)
    if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        raise ClusterError(
            f"Elasticsearch at {url} refused the credentials (HTTP {response.status_code}); "
            "check INDEXER_ES_API_KEY or INDEXER_ES_USERNAME/INDEXER_ES_PASSWORD"
        )
    if response.status_code != httpx.codes.OK:
        raise ClusterError(f"{url} did not answer like Elasticsearch (HTTP {response.status_code})")
    body = response.json()
    if "version" in body:
        return str(body["version"]["number"])
    versions = [node["version"] for node in body.get("nodes", {}).values()]
    if not versions:
        raise ClusterError(f"{url} did not report an Elasticsearch version")
    return str(versions[0])


def _probe_first_answering(http: httpx.Client, hosts: list[str]) -> tuple[str, httpx.Response]:
    """Ask each node in turn: a cluster with one node down still answers."""
    failures: list[str] = []
    for host in hosts:
        url = host.rstrip("/")
        try:
            response = http.get(f"{url}/")
            if response.status_code in (httpx.codes.NOT_FOUND, httpx.codes.METHOD_NOT_ALLOWED):
                # Distributions without the rest-root module (like the test zip) have no `GET /`.
                response = http.get(f"{url}/_nodes/_local", params={"filter_path": "nodes.*.version"})
        except httpx.HTTPError as exc:
            failures.append(f"{url} ({exc})")
            continue
        return url, response
    raise ClusterUnavailableError(
        f"cannot reach Elasticsearch at {', '.join(failures)}; "
        "start it (`indexer es start`) or fix INDEXER_ES_URL"
    )


def _check_version(version: str, url: str) -> None:
    major = int(version.split(".")[0])
    if major < MIN_SERVER_MAJOR:
        raise ClusterError(
            f"Elasticsearch at {url} is version {version}; contract-indexer needs {MIN_SERVER_MAJOR}.x or "
            "newer (upgrade the cluster, or unset INDEXER_ES_URL to use the project's own node)"
        )


def connect(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster; starts or reuses the embedded node when no URL is set.

    Raises:
        ClusterUnavailableError, ClusterError, DependencyError: see the message for what to change.
    """
    es = settings.es
    if es.is_embedded:
        # Imported here: only the embedded path needs psutil and the node machinery.
        from indexer.node import EmbeddedNode

        EmbeddedNode(settings).ensure_running()
    version = cluster_version(es)
    _check_version(version, es.effective_url)
    log.debug("connected to Elasticsearch %s at %s", version, es.effective_url)
    return Elasticsearch(
        es.hosts,
        verify_certs=es.verify_certs,
        request_timeout=es.request_timeout_s,
        retry_on_timeout=True,
        max_retries=3,
        **_client_options(es),
    )
