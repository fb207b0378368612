"""Import the shipped Kibana saved objects (data view, saved search, dashboard) into a Kibana.

Uses Kibana's saved objects import API: `POST /api/saved_objects/_import?overwrite=true` with
the `kbn-xsrf` header and the ndjson as the multipart field `file`. Kibana answers 200 even when
objects fail; `success: false` and its `errors` array say which and why.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from indexer.errors import ClusterError, ClusterUnavailableError, ConfigError, IndexingError, InputError
from indexer.resources import resource_dir

__all__ = ["SAVED_OBJECTS", "ImportResult", "import_saved_objects", "read_saved_objects"]

log = logging.getLogger(__name__)

#: The objects shipped in the repository.
SAVED_OBJECTS = resource_dir("kibana") / "saved_objects.ndjson"
_REQUIRED_KEYS = ("type", "id", "attributes", "references")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What Kibana imported: its count and the (type, id) of each object."""

    success_count: int
    imported: list[tuple[str, str]]


def read_saved_objects(path: Path = SAVED_OBJECTS) -> list[dict[str, Any]]:
    """The objects of an ndjson file, each checked for the keys Kibana needs.

    Raises:
        InputError: the file is missing, a line is not JSON, or an object lacks a required key.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the saved objects {path}: {exc}", path=str(path)) from exc
    objects = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path} line {number} is not JSON: {exc}", path=str(path)) from exc
        missing = [key for key in _REQUIRED_KEYS if not isinstance(item, dict) or key not in item]
        if missing:
            raise InputError(f"{path} line {number} lacks {', '.join(missing)}", path=str(path))
        objects.append(item)
    return objects


def _auth_headers(api_key: str | None) -> dict[str, str]:
    headers = {"kbn-xsrf": "true"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    return headers


def import_saved_objects(
    url: str,
    path: Path = SAVED_OBJECTS,
    *,
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    space: str | None = None,
    ca_certs: Path | None = None,
    timeout_s: float = 30.0,
) -> ImportResult:
    """Upload the ndjson at `path` to the Kibana at `url`, overwriting objects with the same ids.

    Raises:
        InputError: the ndjson is missing or malformed.
        ClusterUnavailableError: Kibana cannot be reached, or answers 5xx.
        ConfigError: Kibana refused the credentials (401/403).
        ClusterError: Kibana refused the request otherwise.
        IndexingError: Kibana answered but some objects were not imported; `errors` lists them.
    """
    objects = read_saved_objects(path)
    endpoint = url.rstrip("/") + (f"/s/{space}" if space else "") + "/api/saved_objects/_import"
    auth = httpx.BasicAuth(username, password or "") if username and not api_key else None
    try:
        with httpx.Client(timeout=timeout_s, verify=str(ca_certs) if ca_certs else True, auth=auth) as client:
            response = client.post(
                endpoint,
                params={"overwrite": "true"},
                headers=_auth_headers(api_key),
                files={"file": (path.name, path.read_bytes(), "application/ndjson")},
            )
    except httpx.HTTPError as exc:
        raise ClusterUnavailableError(
            f"cannot reach Kibana at {url}: {exc}; check --url and that Kibana is up"
        ) from exc
    return _result(response, url, len(objects))


def _result(response: httpx.Response, url: str, expected: int) -> ImportResult:
    if response.status_code in (401, 403):
        raise ConfigError(
            f"Kibana at {url} refused the credentials (HTTP {response.status_code}); "
            "give --api-key, or --username/--password (default: INDEXER_ES_USERNAME/INDEXER_ES_PASSWORD)"
        )
    if response.status_code >= 500:
        raise ClusterUnavailableError(
            f"Kibana at {url} failed (HTTP {response.status_code}): {response.text}"
        )
    if response.status_code != 200:
        raise ClusterError(
            f"Kibana at {url} refused the import (HTTP {response.status_code}): {response.text}"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise ClusterError(f"Kibana at {url} answered with something other than JSON: {exc}") from exc
    errors = body.get("errors") or []
    if not body.get("success") or errors:
        reasons = "; ".join(
            f"{item.get('type')} {item.get('id')}: {item.get('error', {}).get('type', 'unknown')}"
            for item in errors
        )
        raise IndexingError(f"Kibana at {url} did not import every object: {reasons}", errors=errors)
    imported = [(item["type"], item["id"]) for item in body.get("successResults", [])]
    log.info("imported %d of %d saved objects into %s", body.get("successCount", 0), expected, url)
    return ImportResult(int(body.get("successCount", 0)), imported)
