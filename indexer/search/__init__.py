"""Elasticsearch: connection, versioned mappings, bulk writes and the alias."""

from __future__ import annotations

from indexer.search.bulk import delete_document_pages, index_documents, write_actions
from indexer.search.client import cluster_version, connect
from indexer.search.documents import page_document
from indexer.search.mappings import (
    PageMapping,
    alias_indices,
    create_index,
    ensure_alias,
    ensure_configured_alias,
    install_template,
    load_mapping,
    swap_alias,
)

__all__ = [
    "PageMapping",
    "alias_indices",
    "cluster_version",
    "connect",
    "create_index",
    "delete_document_pages",
    "ensure_alias",
    "ensure_configured_alias",
    "index_documents",
    "install_template",
    "load_mapping",
    "page_document",
    "swap_alias",
    "write_actions",
]
