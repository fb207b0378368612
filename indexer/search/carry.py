"""Carry pages from an old index into a new one when they cannot be rebuilt.

`reindex` rebuilds pages from artifacts or source files. A page whose artifacts are missing or
unreadable still lives in the old index: its stored `_source` is copied, pruned to the fields the
new mapping declares, so no page is lost. The embedded distribution has no server-side
`_reindex`, so this is scan + bulk.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from indexer.search.client import translate_errors

__all__ = ["carry_over_actions", "indexed_page_counts", "reshape"]

log = logging.getLogger(__name__)

#: Ids per `terms` query; well under Elasticsearch's default `max_terms_count` of 65,536.
_IDS_PER_QUERY = 1000


def indexed_page_counts(client: Elasticsearch, alias: str) -> Counter[str]:
    """Document id -> pages the alias holds for it (empty when the alias does not exist)."""
    counts: Counter[str] = Counter()
    with translate_errors("listing the indexed documents"):
        if not client.indices.exists_alias(name=alias):
            return counts
        query = {"query": {"match_all": {}}, "_source": ["document.id"]}
        for hit in scan(client, index=alias, query=query):
            counts[hit["_source"]["document"]["id"]] += 1
    return counts


def reshape(source: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """Keep only the fields the mapping's `properties` declare, recursively (objects and nested)."""
    shaped: dict[str, Any] = {}
    for key, value in source.items():
        field = properties.get(key)
        if field is None:
            continue
        inner = field.get("properties")
        if inner is None:
            shaped[key] = value
        elif isinstance(value, list):
            shaped[key] = [reshape(item, inner) if isinstance(item, dict) else item for item in value]
        elif isinstance(value, dict):
            shaped[key] = reshape(value, inner)
        else:
            shaped[key] = value
    return shaped


def carry_over_actions(
    client: Elasticsearch,
    alias: str,
    document_ids: Iterable[str],
    *,
    target_index: str,
    properties: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    """Bulk actions that copy every page of `document_ids` from the alias into `target_index`."""
    ids = sorted(document_ids)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        query = {"query": {"terms": {"document.id": ids[start : start + _IDS_PER_QUERY]}}}
        with translate_errors("reading the pages to carry over"):
            hits = list(scan(client, index=alias, query=query))
        for hit in hits:
            yield {
                "_op_type": "index",
                "_index": target_index,
                "_id": hit["_id"],
                "_source": reshape(hit["_source"], properties),
            }
