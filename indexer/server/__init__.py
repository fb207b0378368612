"""The REST API and the review page (FastAPI), served by `indexer serve`."""

from __future__ import annotations

from indexer.server.app import check_bind, create_app
from indexer.server.context import ServerContext

__all__ = ["ServerContext", "check_bind", "create_app"]
