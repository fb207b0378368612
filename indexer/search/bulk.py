"""Write and delete page documents through the alias with `streaming_bulk`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan, streaming_bulk

from indexer.config import ElasticSettings
from indexer.document import Document
from indexer.errors import ClusterUnavailableError, IndexingError
from indexer.search.client import TRANSIENT_STATUSES, translate_errors
from indexer.search.documents import page_document

__all__ = ["delete_document_pages", "index_documents", "write_actions"]

log = logging.getLogger(__name__)


def _page_actions(documents: Iterable[Document], alias: str) -> Iterator[dict[str, Any]]:
    for document in documents:
        for page in document.pages:
            yield {
                "_op_type": "index",
                "_index": alias,
                "_id": document.page_id(page),
                "_source": page_document(document, page),
            }


def write_actions(
    client: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    es: ElasticSettings,
) -> int:
    """Send bulk actions; retry 429s with backoff; raise every per-item failure.

    Returns:
        The number of items Elasticsearch accepted.

    Raises:
        IndexingError: one or more items were rejected; `.errors` holds each item's reason.
        ClusterUnavailableError: the cluster could not be reached (retry later).
    """
    accepted = 0
    failures: list[dict[str, Any]] = []
    with translate_errors("indexing"):
        for ok, item in streaming_bulk(
            client,
            actions,
            chunk_size=es.bulk_chunk_size,
            max_retries=es.bulk_max_retries,
            initial_backoff=es.bulk_initial_backoff_s,
            max_backoff=es.bulk_max_backoff_s,
            raise_on_error=False,
            raise_on_exception=True,
        ):
            operation, result = next(iter(item.items()))
            # Deleting a page that is already gone is what we wanted.
            if ok or (operation == "delete" and result.get("status") == 404):
                accepted += 1
            else:
                failures.append(result)
    if failures:
        if all(failure.get("status") in TRANSIENT_STATUSES for failure in failures):
            raise ClusterUnavailableError(
                f"Elasticsearch kept answering {failures[0].get('status')} for {len(failures)} item(s) "
                f"after {es.bulk_max_retries} retries"
            )
        first = failures[0]
        reason = first.get("error", {})
        raise IndexingError(
            f"Elasticsearch rejected {len(failures)} item(s); first: {first.get('_id')}: "
            f"{reason.get('type') if isinstance(reason, dict) else reason}: "
            f"{reason.get('reason') if isinstance(reason, dict) else ''}",
            errors=failures,
        )
    return accepted


def index_documents(
    client: Elasticsearch,
    documents: Iterable[Document],
    es: ElasticSettings,
    *,
    alias: str | None = None,
) -> int:
    """Index every page of `documents` through the alias (or another index, for reindexing)."""
    return write_actions(client, _page_actions(documents, alias or es.alias), es)


def delete_document_pages(
    client: Elasticsearch, es: ElasticSettings, document_id: str, *, keep_pages: int = 0
) -> int:
    """Remove the pages of a document beyond `keep_pages` (all of them by default).

    Used when a file is removed or when its new content has fewer pages. The test distribution
    has no `_delete_by_query` (it lives in the reindex module), so ids are scanned, then deleted.
    """
    query = {
        "bool": {"filter": [{"term": {"document.id": document_id}}, {"range": {"page": {"gt": keep_pages}}}]}
    }
    with translate_errors("deleting pages"):
        hits = list(scan(client, index=es.alias, query={"query": query, "_source": False}))
        actions = ({"_op_type": "delete", "_index": hit["_index"], "_id": hit["_id"]} for hit in hits)
        deleted = write_actions(client, actions, es)
        client.indices.refresh(index=es.alias)
    return deleted
