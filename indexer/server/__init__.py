"""The REST API and the review page (FastAPI), served by `indexer serve`."""

from __future__ import annotations

from indexer.server.app import ServerContext, check_bind, create_app

__all__ = ["ServerContext", "check_bind", "create_app"]
