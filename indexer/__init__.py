"""contract-indexer: makes scanned contracts with handwritten annotations searchable."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
