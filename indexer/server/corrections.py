"""Correcting a handwriting span: re-merge the page without models, re-index it, and keep the change.

A correction is kept twice, for two readers:
- in the document's artifacts (`page-NNNN.json` and `corrections.json`), so `indexer reindex`
  rebuilds the page with it, even after the pages were written again by a re-ingest;
- in the corrections store (`<state dir>/corrections/<document id>/`), one PNG crop at full
  resolution and one JSON record per span, which `indexer train-htr --corrections DIR` reads as
  labelled lines.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from indexer.artifacts import SpanCorrection, correct, save_correction, write_page
from indexer.config import Settings
from indexer.document import Document, HandwritingKind, Page, Span
from indexer.pipeline import PageProcessor
from indexer.search import index_documents
from indexer.search.client import translate_errors
from indexer.server.pages import crop, find_page, find_span

__all__ = ["CorrectionRecord", "correct_span"]

log = logging.getLogger(__name__)

CorrectionRecord = dict[str, Any]


def _store_crop(
    settings: Settings, document: Document, folder: Path, page: Page, span: Span, record: CorrectionRecord
) -> Path:
    """Write the crop and its record into the corrections store; return the record's path."""
    target = settings.corrections_dir / document.id
    target.mkdir(parents=True, exist_ok=True)
    stem = f"p{page.number:04d}-{span.id}"
    crop(settings, document, folder, page, span.box).save(target / f"{stem}.png")
    path = target / f"{stem}.json"
    path.write_text(json.dumps({**record, "image": f"{stem}.png"}, ensure_ascii=False, indent=1))
    return path


def correct_span(
    settings: Settings,
    client: Elasticsearch,
    processors: list[PageProcessor],
    *,
    document: Document,
    folder: Path,
    page_number: int,
    span_id: str,
    text: str | None,
    kind: HandwritingKind | None,
    who: str,
) -> Page:
    """Set a span's text and/or kind, merge its page again, index it, and keep the correction.

    Returns:
        The page as indexed now.

    Raises:
        NotFoundError: no such page or span.
        ClusterUnavailableError, IndexingError: the page could not be indexed; the artifacts
            and the store are then left as they were.
    """
    page = find_page(document, page_number)
    position = next(index for index, item in enumerate(document.pages) if item is page)
    span = find_span(page, span_id)
    previous = {"text": span.text, "kind": span.kind.value, "engine": span.engine}
    asked = SpanCorrection(
        page=page.number,
        span_id=span.id,
        box=span.box,
        text=" ".join(text.split()) if text is not None else None,
        kind=kind,
        who=who,
        when=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    correct(span, asked)
    for processor in processors:
        page = processor(page)
    document.pages[position] = page
    # Index first: if Elasticsearch refuses, nothing claims the correction was made.
    with translate_errors("indexing the corrected page"):
        index_documents(client, [replace(document, pages=[page])], settings.es)
        client.indices.refresh(index=settings.es.alias)
    write_page(folder, page)
    kept = save_correction(folder, asked)
    record: CorrectionRecord = {
        "document_id": document.id,
        "filename": document.filename,
        "page": page.number,
        "span_id": span.id,
        "box": [span.box.x0, span.box.y0, span.box.x1, span.box.y1],
        "text": span.text,
        "kind": span.kind.value,
        # Only a text a person wrote is a label for training; a kind-only correction is not.
        "is_text_corrected": kept.text is not None,
        "is_kind_corrected": kept.kind is not None,
        "previous": previous,
        "who": who,
        "when": asked.when,
    }
    _store_crop(settings, document, folder, page, span, record)
    log.info(
        "%s page %d %s corrected by %s: %r (%s) -> %r (%s)",
        document.filename,
        page.number,
        span.id,
        who,
        previous["text"],
        previous["kind"],
        span.text,
        span.kind.value,
    )
    return page
