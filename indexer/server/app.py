"""The FastAPI application: the JSON API under `/api` (routes.py) and the review page at `/`.

Everything the review page and the OpenAPI page load comes from this app; nothing from a CDN.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from elasticsearch import Elasticsearch
from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.middleware.base import RequestResponseEndpoint

from indexer.config import Settings
from indexer.errors import ConfigError
from indexer.server.context import ServerContext
from indexer.server.errors import install_error_handlers
from indexer.server.routes import router

__all__ = ["check_bind", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
#: A request body this much over the file limit is refused before it is read (multipart overhead).
_UPLOAD_SLACK_BYTES = 1 << 20


def check_bind(host: str, settings: Settings) -> None:
    """Refuse to serve a non-loopback address without an API key.

    Raises:
        ConfigError: `host` is reachable from other machines and `INDEXER_API__KEY` is not set.
    """
    if settings.api.key is not None and settings.api.key.get_secret_value():
        return
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise ConfigError(
            f"refusing to serve on {host} without an API key: anyone who reaches it could read and "
            "change the index. Set INDEXER_API__KEY (clients send it as X-API-Key), or serve on 127.0.0.1"
        )


def create_app(settings: Settings, *, inbox: Path, client: Elasticsearch | None = None) -> FastAPI:
    """The review app and API over these settings; uploads go to `inbox` (or `api.upload_dir`)."""
    context = ServerContext(settings, inbox=inbox, client=client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    # The OpenAPI page at /docs with Swagger UI's files served by the app itself, not a CDN.
    app = FastAPIOffline(
        title="contract-indexer",
        summary="Search contract pages, review their handwriting, correct readings.",
        version="1",
        lifespan=lifespan,
    )
    app.state.context = context
    install_error_handlers(app)
    limit_bytes = settings.input.max_file_mb * 1e6 + _UPLOAD_SLACK_BYTES

    @app.middleware("http")
    async def refuse_huge_uploads(request: Request, call_next: RequestResponseEndpoint) -> Response:
        # Refused before the body is read, so an oversized upload never fills the disk.
        length = request.headers.get("content-length", "")
        if request.method == "POST" and length.isdigit() and int(length) > limit_bytes:
            return JSONResponse(
                {
                    "error": "RequestError",
                    "reason": f"the upload is over the {settings.input.max_file_mb:.0f} MB limit "
                    "(INDEXER_INPUT__MAX_FILE_MB); split it or raise the limit",
                },
                status_code=413,
            )
        return await call_next(request)

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def review_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
