"""docker-compose.yml cannot run here (no Docker engine); check its structure instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _image_version(image: str) -> str:
    match = re.search(r":\$\{STACK_VERSION:-(?P<default>[^}]+)\}$", image) or re.search(
        r":(?P<default>[^:]+)$", image
    )
    assert match, image
    return match.group("default")


def test_services_use_pinned_official_9x_images() -> None:
    services = _compose()["services"]

    assert {"es01", "kibana", "indexer", "setup"} <= set(services)
    assert services["es01"]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    assert services["kibana"]["image"].startswith("docker.elastic.co/kibana/kibana:")
    for name in ("es01", "kibana", "setup"):
        version = _image_version(services[name]["image"])
        assert re.fullmatch(r"9\.\d+\.\d+", version), (name, version)


def test_every_long_running_service_has_a_healthcheck_and_named_volumes() -> None:
    compose = _compose()
    named = set(compose["volumes"])
    for name in ("es01", "kibana", "indexer"):
        service = compose["services"][name]
        assert service["healthcheck"]["test"], name
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            assert source in named or source.startswith("./"), (name, volume)


def test_security_is_on_and_the_indexer_uses_tls_and_credentials() -> None:
    services = _compose()["services"]
    es_env = services["es01"]["environment"]
    indexer_env = dict(item.split("=", 1) for item in services["indexer"]["environment"])

    assert "xpack.security.enabled=true" in es_env
    assert "xpack.security.http.ssl.enabled=true" in es_env
    assert indexer_env["INDEXER_ES_URL"].startswith("https://")
    assert indexer_env["INDEXER_ES_CA_CERTS"]
    assert indexer_env["INDEXER_ES_PASSWORD"] == "${ELASTIC_PASSWORD}"
    assert services["indexer"]["build"] == "."
    assert "/inbox" in services["indexer"]["command"]


def test_dockerfile_installs_what_the_daemon_needs() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()

    for package in ("tesseract-ocr", "tesseract-ocr-eng", "poppler-utils"):
        assert package in dockerfile
    assert "COPY models" in dockerfile and "COPY mappings" in dockerfile


def test_kibana_setup_imports_the_saved_objects_once_kibana_is_healthy() -> None:
    service = _compose()["services"]["kibana-setup"]
    environment = dict(item.split("=", 1) for item in service["environment"])

    assert service["build"] == "."
    assert service["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert service["command"][-3:] == ["kibana-setup", "--url", "http://kibana:5601"]
    assert environment["INDEXER_ES_USERNAME"] == "elastic"
    assert environment["INDEXER_ES_PASSWORD"] == "${ELASTIC_PASSWORD}"
    assert service["restart"] == "no"


def test_workers_scale_out_behind_redis_and_see_the_daemons_files() -> None:
    """`docker compose up --scale worker=N`: no fixed name or port, the daemon's queue, its paths."""
    services = _compose()["services"]
    redis, worker, daemon = services["redis"], services["worker"], services["indexer"]
    worker_env = dict(item.split("=", 1) for item in worker["environment"])
    daemon_env = dict(item.split("=", 1) for item in daemon["environment"])

    assert redis["image"].startswith("redis:")
    assert "--appendonly" in redis["command"]
    assert redis["healthcheck"]["test"]
    assert worker["build"] == "."
    assert worker["command"][:3] == ["indexer", "-v", "worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker_env["INDEXER_QUEUE__URL"] == daemon_env["INDEXER_QUEUE__URL"] == "redis://redis:6379/0"
    assert worker_env["INDEXER_ES_URL"] == daemon_env["INDEXER_ES_URL"]
    assert {"./inbox:/inbox", "indexerstate:/var/lib/contract-indexer"} <= set(worker["volumes"])
    for service in (worker, daemon):
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
