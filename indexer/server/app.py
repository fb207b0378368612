"""The FastAPI application: the JSON API under `/api` and the review page at `/`.

Handlers are plain functions (FastAPI runs them in its thread pool): Elasticsearch, the journal
and the artifact files are all blocking I/O. Everything the review page loads comes from this
app; nothing from a CDN.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from elasticsearch import Elasticsearch
from fastapi import APIRouter, Depends, FastAPI, File, Header, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field
from starlette.middleware.base import RequestResponseEndpoint

from indexer.config import Settings
from indexer.document import HandwritingKind
from indexer.errors import ConfigError
from indexer.pipeline import PageProcessor
from indexer.search import connect, ensure_alias, load_mapping
from indexer.search.client import translate_errors
from indexer.search.query import (
    FIELD_HITS_PREFIX,
    PageQuery,
    parse_entity_filter,
    parse_field_filter,
    split_highlight,
)
from indexer.server.corrections import correct_span, model_free_processors
from indexer.server.errors import RequestError, install_error_handlers
from indexer.server.pages import find_page, load_indexed_document, page_image_jpeg, page_json
from indexer.server.pdf import SEARCHABLE_PDF_NAME, searchable_pdf
from indexer.server.uploads import document_status, inbox_statuses, store_upload

__all__ = ["ServerContext", "check_bind", "create_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
API_KEY_HEADER = "X-API-Key"
#: A request body this much over the file limit is refused before it is read (multipart overhead).
_UPLOAD_SLACK_BYTES = 1 << 20
_MAX_PAGE_SIZE = 100


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


class ServerContext:
    """What the handlers share: settings, the inbox, one Elasticsearch client, the model-free steps."""

    def __init__(self, settings: Settings, *, inbox: Path, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.inbox = (settings.api.upload_dir or inbox).resolve()
        self._client = client
        #: A client handed in stays its owner's to close.
        self._owns_client = client is None
        self._processors: list[PageProcessor] | None = None
        self._lock = threading.Lock()
        #: Corrections are read-modify-write on a document's artifacts: one at a time.
        self.corrections_lock = threading.Lock()

    def client(self) -> Elasticsearch:
        """The client, connected and the alias created on first use.

        Raises:
            ClusterUnavailableError: Elasticsearch cannot be reached (answered as 503).
        """
        with self._lock:
            if self._client is None:
                client = connect(self.settings)
                with translate_errors("creating the index"):
                    ensure_alias(client, self.settings.es.alias, load_mapping())
                self._client = client
            return self._client

    def processors(self) -> list[PageProcessor]:
        with self._lock:
            if self._processors is None:
                self._processors = model_free_processors(self.settings)
            return self._processors

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()


class Correction(BaseModel):
    """A corrected reading: new text, new kind, or both."""

    text: str | None = Field(default=None, max_length=2000)
    kind: Literal["signature", "annotation"] | None = None
    #: Who corrected it, kept with the correction (default: "anonymous").
    who: str | None = Field(default=None, max_length=200)


def _html(fragment: str) -> str:
    """A highlighted fragment as safe HTML: the text escaped, the matches in <em>."""
    return "".join(
        f"<em>{html.escape(part)}</em>" if is_match else html.escape(part)
        for part, is_match in split_highlight(fragment)
    )


def _hit(hit: dict[str, Any]) -> dict[str, Any]:
    source = hit["_source"]
    inner = hit.get("inner_hits", {}).get("handwriting", {}).get("hits", {}).get("hits", [])
    if inner:
        spans = []
        for item in inner:
            span = item.get("_source", {})
            fragments = item.get("highlight", {}).get("handwriting.text", [span.get("text", "")])
            spans.append({**span, "text": _html(fragments[0]), "matched": True})
    else:
        spans = [
            {**span, "text": html.escape(span.get("text", "")), "matched": False}
            for span in source.get("handwriting", [])
        ]
    fields = [
        item.get("_source", {})
        for name, matched in sorted(hit.get("inner_hits", {}).items())
        if name.startswith(FIELD_HITS_PREFIX)
        for item in matched.get("hits", {}).get("hits", [])
    ]
    return {
        "id": hit["_id"],
        "document_id": source["document"]["id"],
        "filename": source["document"]["filename"],
        "page": source["page"],
        "score": hit["_score"],
        "highlight": {
            name: [_html(part) for part in parts] for name, parts in hit.get("highlight", {}).items()
        },
        "handwriting": spans,
        "fields": fields,
    }


def _api(context: ServerContext) -> APIRouter:
    settings = context.settings
    key = settings.api.key.get_secret_value() if settings.api.key is not None else ""

    def require_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if key and not (x_api_key and secrets.compare_digest(x_api_key.encode(), key.encode())):
            raise RequestError(
                f"missing or wrong {API_KEY_HEADER} header: this server needs its API key", status_code=401
            )

    router = APIRouter(prefix="/api", dependencies=[Depends(require_key)])

    @router.post("/documents", status_code=202)
    def upload(file: Annotated[UploadFile, File(description="A PDF, PNG, JPEG or TIFF")]) -> dict[str, str]:
        """Store a document in the watched inbox; the daemon indexes it."""
        stored = store_upload(settings, context.inbox, file.filename or "upload", file.file)
        status = "queued" if stored.is_new else document_status(settings, stored.id).status
        return {"id": stored.id, "status": status}

    @router.get("/documents")
    def documents(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """The inbox's files, newest first: queued, processing, indexed, failed, quarantined (why)."""
        return {
            "documents": [item.to_dict() for item in inbox_statuses(settings, context.inbox, limit=limit)]
        }

    @router.get("/documents/{document_id}")
    def status(document_id: str) -> dict[str, Any]:
        return document_status(settings, document_id).to_dict()

    @router.get("/documents/{document_id}/pages/{number}")
    def page(document_id: str, number: int) -> dict[str, Any]:
        document, _ = load_indexed_document(settings, document_id)
        page = find_page(document, number)
        # As the index has it: `reindex` recomputes labels, text and fields from the artifacts.
        for processor in context.processors():
            page = processor(page)
        return page_json(document, page)

    @router.get("/documents/{document_id}/pages/{number}/image", response_class=Response)
    def page_image(document_id: str, number: int) -> Response:
        document, folder = load_indexed_document(settings, document_id)
        data = page_image_jpeg(settings, document, folder, find_page(document, number))
        return Response(data, media_type="image/jpeg")

    @router.patch("/documents/{document_id}/pages/{number}/handwriting/{span_id}")
    def correct(document_id: str, number: int, span_id: str, correction: Correction) -> dict[str, Any]:
        """Correct a span's reading and kind: the page is merged again (no model runs) and re-indexed."""
        if correction.text is None and correction.kind is None:
            raise RequestError("give the corrected text, kind, or both")
        with context.corrections_lock:
            document, folder = load_indexed_document(settings, document_id)
            page = correct_span(
                settings,
                context.client(),
                context.processors(),
                document=document,
                folder=folder,
                page_number=number,
                span_id=span_id,
                text=correction.text,
                kind=HandwritingKind(correction.kind) if correction.kind else None,
                who=correction.who or "anonymous",
            )
            if settings.output.searchable_pdf:
                (folder / SEARCHABLE_PDF_NAME).write_bytes(searchable_pdf(document, folder))
        return page_json(document, page)

    @router.get("/documents/{document_id}/pdf", response_class=Response)
    def pdf(document_id: str) -> Response:
        """The document as a searchable PDF: its pages with an invisible layer of what was read."""
        document, folder = load_indexed_document(settings, document_id)
        data = searchable_pdf(document, folder)
        if settings.output.searchable_pdf:
            (folder / SEARCHABLE_PDF_NAME).write_bytes(data)
        name = f"{Path(document.filename).stem}-searchable.pdf"
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/search")
    def search(
        q: str = "",
        handwriting_only: bool = False,
        kind: Literal["signature", "annotation"] | None = None,
        entity: Annotated[list[str] | None, Query()] = None,
        field: Annotated[list[str] | None, Query()] = None,
        size: Annotated[int, Query(ge=1, le=_MAX_PAGE_SIZE)] = 10,
        offset: Annotated[int, Query(alias="from", ge=0, le=10_000)] = 0,
    ) -> dict[str, Any]:
        """The same search as `indexer search`: words, --handwriting-only, --kind, --entity, --field."""
        query = PageQuery(
            text=q,
            handwriting_only=handwriting_only,
            kind=kind,
            entities=[parse_entity_filter(item) for item in entity or []],
            fields=[parse_field_filter(item) for item in field or []],
            size=size,
        )
        with translate_errors("searching"):
            response = context.client().search(index=settings.es.alias, **query.body(), from_=offset)
        return {
            "total": response["hits"]["total"]["value"],
            "from": offset,
            "hits": [_hit(hit) for hit in response["hits"]["hits"]],
        }

    return router


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

    app.include_router(_api(context))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def review_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
