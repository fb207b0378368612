"""Versioned page mappings, the index template, concrete index names and the alias.

Concrete indices are named `<alias>-v<N>-<stamp>`; reads and writes always go through the alias.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from indexer.errors import ConfigError
from indexer.resources import resource_dir

if TYPE_CHECKING:
    from indexer.config import ElasticSettings

__all__ = [
    "MAPPINGS_DIR",
    "PageMapping",
    "alias_indices",
    "create_index",
    "ensure_alias",
    "ensure_configured_alias",
    "install_template",
    "load_mapping",
    "mapping_version_of",
    "swap_alias",
    "upgrade_in_place",
]

log = logging.getLogger(__name__)

MAPPINGS_DIR = resource_dir("mappings")
_MAPPING_FILE = re.compile(r"^contracts-v(?P<version>\d+)\.json$")
_TEMPLATE_PRIORITY = 200
_FIRST_INDEX_STAMP = "initial"  # the alias's first index; reindexing makes stamped ones


@dataclass(frozen=True, slots=True)
class PageMapping:
    version: int
    settings: dict[str, Any]
    mappings: dict[str, Any]


def load_mapping(
    version: int | None = None, *, directory: Path = MAPPINGS_DIR, replicas: int | None = None
) -> PageMapping:
    """The page mapping of `version`, or the newest one in `mappings/`.

    Args:
        replicas: `number_of_replicas` for the index template (`INDEXER_ES__NUMBER_OF_REPLICAS`);
            None keeps the file's value. A setting of the cluster, not of the mapping's version.

    Raises:
        ConfigError: no such mapping file.
    """
    found = {
        int(match.group("version")): path
        for path in directory.glob("contracts-v*.json")
        if (match := _MAPPING_FILE.match(path.name))
    }
    if not found:
        raise ConfigError(f"no mapping files contracts-v<N>.json in {directory}")
    chosen = max(found) if version is None else version
    if chosen not in found:
        raise ConfigError(f"no mapping version {chosen} in {directory}; have {sorted(found)}")
    body = json.loads(found[chosen].read_text())
    settings = dict(body["settings"])
    if replicas is not None:
        settings["number_of_replicas"] = replicas
    return PageMapping(version=chosen, settings=settings, mappings=body["mappings"])


def template_name(alias: str) -> str:
    return f"{alias}-pages"


def install_template(client: Elasticsearch, alias: str, mapping: PageMapping) -> None:
    """Install (or update) the index template that every `<alias>-v*` index is created from."""
    client.indices.put_index_template(
        name=template_name(alias),
        index_patterns=[f"{alias}-v*"],
        priority=_TEMPLATE_PRIORITY,
        template={"settings": mapping.settings, "mappings": mapping.mappings},
        meta={"mapping_version": mapping.version, "product": "contract-indexer"},
    )


def new_index_name(alias: str, version: int, *, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-v{version}-{stamp}"


def alias_indices(client: Elasticsearch, alias: str) -> list[str]:
    """The concrete indices the alias points to (empty if the alias does not exist)."""
    try:
        return sorted(client.indices.get_alias(name=alias).body)
    except NotFoundError:
        return []


def create_index(client: Elasticsearch, alias: str, mapping: PageMapping) -> str:
    """Create a new, empty `<alias>-v<N>-<stamp>` index from the template; no alias yet."""
    install_template(client, alias, mapping)
    name = new_index_name(alias, mapping.version)
    client.indices.create(index=name)
    return name


def ensure_configured_alias(client: Elasticsearch, es: ElasticSettings) -> str:
    """`ensure_alias` for the configured alias, with the newest mapping and the configured number
    of replicas (what the ingest path and the server need before their first write)."""
    return ensure_alias(client, es.alias, load_mapping(replicas=es.number_of_replicas))


def ensure_alias(client: Elasticsearch, alias: str, mapping: PageMapping) -> str:
    """Make sure the alias exists, creating its first index if needed; return the write index.

    Several workers may start at once: the first index has a fixed name and is created together
    with its alias in one request, so exactly one of them succeeds and the others reuse it.
    """
    existing = alias_indices(client, alias)
    if existing:
        upgrade_in_place(client, alias, existing[-1], mapping)
        return existing[-1]
    install_template(client, alias, mapping)
    name = f"{alias}-v{mapping.version}-{_FIRST_INDEX_STAMP}"
    try:
        client.indices.create(index=name, aliases={alias: {"is_write_index": True}})
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
        return name
    log.info("created index %s behind alias %s (mapping v%d)", name, alias, mapping.version)
    return name


def mapping_version_of(client: Elasticsearch, index: str) -> int:
    """The mapping version an index was created with (0 when it has no `_meta`)."""
    body = client.indices.get_mapping(index=index).body[index]["mappings"]
    return int(body.get("_meta", {}).get("mapping_version", 0))


def upgrade_in_place(client: Elasticsearch, alias: str, index: str, mapping: PageMapping) -> None:
    """Add the fields of a newer mapping to an older index (new mappings only add fields), so
    pages keep flowing into it; `indexer reindex` then fills the new fields of the old pages.

    Raises:
        ConfigError: the index's mapping cannot take the new fields.
    """
    version = mapping_version_of(client, index)
    if version >= mapping.version:
        return
    install_template(client, alias, mapping)
    try:
        client.indices.put_mapping(
            index=index,
            properties=mapping.mappings["properties"],
            dynamic_templates=mapping.mappings.get("dynamic_templates"),
            meta=mapping.mappings["_meta"],
        )
    except BadRequestError as exc:
        raise ConfigError(
            f"index {index} has mapping v{version} and cannot take v{mapping.version}'s fields "
            f"({exc.error}); run `indexer reindex` to rebuild it under the new mapping"
        ) from exc
    log.warning(
        "index %s had mapping v%d: added the fields of v%d; run `indexer reindex` to fill them for "
        "the pages already indexed",
        index,
        version,
        mapping.version,
    )


def swap_alias(client: Elasticsearch, alias: str, new_index: str, *, delete_old: bool) -> list[str]:
    """Point the alias at `new_index` alone, atomically; return (and maybe delete) the old indices."""
    old = [index for index in alias_indices(client, alias) if index != new_index]
    actions: list[dict[str, Any]] = [{"add": {"index": new_index, "alias": alias, "is_write_index": True}}]
    actions += [{"remove": {"index": index, "alias": alias}} for index in old]
    client.indices.update_aliases(actions=actions)
    if delete_old and old:
        client.indices.delete(index=",".join(old))
    return old
