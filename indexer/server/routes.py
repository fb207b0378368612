"""The JSON API under `/api`: documents, pages, corrections, searchable PDFs and search.

Handlers are plain functions (FastAPI runs them in its thread pool): Elasticsearch, the journal
and the artifact files are all blocking I/O. Each gets the app's `ServerContext` by `Depends`.
"""

from __future__ import annotations

import html
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Header, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from indexer.document import HandwritingKind
from indexer.search.client import translate_errors
from indexer.search.query import (
    FIELD_HITS_PREFIX,
    PageQuery,
    parse_entity_filter,
    parse_field_filter,
    split_highlight,
)
from indexer.server.context import ServerContext
from indexer.server.corrections import correct_span
from indexer.server.errors import RequestError
from indexer.server.pages import find_page, load_indexed_document, page_image_jpeg, page_json
from indexer.server.pdf import SEARCHABLE_PDF_NAME, searchable_pdf
from indexer.server.uploads import document_status, inbox_statuses, store_upload

__all__ = ["API_KEY_HEADER", "router"]

API_KEY_HEADER = "X-API-Key"
_MAX_PAGE_SIZE = 100


def _context(request: Request) -> ServerContext:
    context: ServerContext = request.app.state.context
    return context


Context = Annotated[ServerContext, Depends(_context)]


def _require_key(context: Context, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Every route needs the key when `INDEXER_API__KEY` is set (compared in constant time)."""
    key = context.settings.api.key
    expected = key.get_secret_value().encode() if key is not None else b""
    if expected and not (x_api_key and secrets.compare_digest(x_api_key.encode(), expected)):
        raise RequestError(
            f"missing or wrong {API_KEY_HEADER} header: this server needs its API key", status_code=401
        )


router = APIRouter(prefix="/api", dependencies=[Depends(_require_key)])


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


@router.post("/documents", status_code=202)
def upload(
    context: Context, file: Annotated[UploadFile, File(description="A PDF, PNG, JPEG or TIFF")]
) -> dict[str, str]:
    """Store a document in the watched inbox; the daemon indexes it."""
    stored = store_upload(context.settings, context.inbox, file.filename or "upload", file.file)
    status = "queued" if stored.is_new else document_status(context.settings, stored.id).status
    return {"id": stored.id, "status": status}


@router.get("/documents")
def documents(context: Context, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The inbox's files, newest first: queued, processing, indexed, failed, quarantined (why)."""
    return {
        "documents": [item.to_dict() for item in inbox_statuses(context.settings, context.inbox, limit=limit)]
    }


@router.get("/documents/{document_id}")
def status(context: Context, document_id: str) -> dict[str, Any]:
    return document_status(context.settings, document_id).to_dict()


@router.get("/documents/{document_id}/pages/{number}")
def page(context: Context, document_id: str, number: int) -> dict[str, Any]:
    document, _ = load_indexed_document(context.settings, document_id)
    page = find_page(document, number)
    # As the index has it: `reindex` recomputes labels, text and fields from the artifacts.
    for processor in context.processors():
        page = processor(page)
    return page_json(document, page)


@router.get("/documents/{document_id}/pages/{number}/image", response_class=Response)
def page_image(context: Context, document_id: str, number: int) -> Response:
    document, folder = load_indexed_document(context.settings, document_id)
    data = page_image_jpeg(context.settings, document, folder, find_page(document, number))
    return Response(data, media_type="image/jpeg")


@router.patch("/documents/{document_id}/pages/{number}/handwriting/{span_id}")
def correct(
    context: Context, document_id: str, number: int, span_id: str, correction: Correction
) -> dict[str, Any]:
    """Correct a span's reading and kind: the page is merged again (no model runs) and re-indexed."""
    if correction.text is None and correction.kind is None:
        raise RequestError("give the corrected text, kind, or both")
    with context.corrections_lock:
        document, folder = load_indexed_document(context.settings, document_id)
        page = correct_span(
            context.settings,
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
        if context.settings.output.searchable_pdf:
            (folder / SEARCHABLE_PDF_NAME).write_bytes(searchable_pdf(document, folder))
    return page_json(document, page)


@router.get("/documents/{document_id}/pdf", response_class=Response)
def pdf(context: Context, document_id: str) -> Response:
    """The document as a searchable PDF: its pages with an invisible layer of what was read."""
    document, folder = load_indexed_document(context.settings, document_id)
    data = searchable_pdf(document, folder)
    if context.settings.output.searchable_pdf:
        (folder / SEARCHABLE_PDF_NAME).write_bytes(data)
    name = f"{Path(document.filename).stem}-searchable.pdf"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/search")
def search(
    context: Context,
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
        response = context.client().search(index=context.settings.es.alias, **query.body(), from_=offset)
    return {
        "total": response["hits"]["total"]["value"],
        "from": offset,
        "hits": [_hit(hit) for hit in response["hits"]["hits"]],
    }
