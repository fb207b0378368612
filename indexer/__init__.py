"""contract-indexer: makes scanned contracts with handwritten annotations searchable.

The public API is listed in `__all__`; everything else is internal. Names load on first use, so
`import indexer` (and `indexer --help`) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Ingestor": "indexer.api",
    "IngestOutcome": "indexer.api",
    "build_pipeline": "indexer.api",
    "Settings": "indexer.config",
    "load_settings": "indexer.config",
    "Box": "indexer.document",
    "Document": "indexer.document",
    "HandwritingKind": "indexer.document",
    "Page": "indexer.document",
    "Span": "indexer.document",
    "Word": "indexer.document",
    "ClusterError": "indexer.errors",
    "ClusterUnavailableError": "indexer.errors",
    "ConfigError": "indexer.errors",
    "DependencyError": "indexer.errors",
    "IndexerError": "indexer.errors",
    "IndexingError": "indexer.errors",
    "InputError": "indexer.errors",
    "ProcessingError": "indexer.errors",
}

__all__ = [
    "Box",
    "ClusterError",
    "ClusterUnavailableError",
    "ConfigError",
    "DependencyError",
    "Document",
    "HandwritingKind",
    "IndexerError",
    "IndexingError",
    "IngestOutcome",
    "Ingestor",
    "InputError",
    "Page",
    "ProcessingError",
    "Settings",
    "Span",
    "Word",
    "__version__",
    "build_pipeline",
    "load_settings",
]

if TYPE_CHECKING:
    from indexer.api import Ingestor, IngestOutcome, build_pipeline
    from indexer.config import Settings, load_settings
    from indexer.document import Box, Document, HandwritingKind, Page, Span, Word
    from indexer.errors import (
        ClusterError,
        ClusterUnavailableError,
        ConfigError,
        DependencyError,
        IndexerError,
        IndexingError,
        InputError,
        ProcessingError,
    )


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'indexer' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
