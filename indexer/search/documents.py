"""The one place that turns the document model into an Elasticsearch page document."""

from __future__ import annotations

from typing import Any

from indexer.document import Document, HandwritingKind, Page, Span

__all__ = ["page_document", "rollup_entities"]

# Page-level entity roll-up keys: the per-span lists that Kibana filters on.
_ROLLUP_KEYS = ("dates", "amounts", "addresses", "zip_codes", "phones", "names", "titles")


def _span_document(span: Span) -> dict[str, Any]:
    return {
        "id": span.id,
        "kind": span.kind.value,
        "text": span.text,
        "confidence": span.confidence,
        "detection_score": span.detection_score,
        "engine": span.engine,
        "anchor": span.anchor,
        "placement": span.placement.value,
        "start": span.start,
        "end": span.end,
        "bbox": {"x0": span.box.x0, "y0": span.box.y0, "x1": span.box.x1, "y1": span.box.y1},
        "entities": span.entities,
    }


def rollup_entities(spans: list[Span]) -> dict[str, list[Any]]:
    """Every span's entities merged per key, without duplicates, in page order."""
    rolled: dict[str, list[Any]] = {}
    for span in spans:
        for key in _ROLLUP_KEYS:
            for value in span.entities.get(key, []):
                values = rolled.setdefault(key, [])
                if value not in values:
                    values.append(value)
    return rolled


def page_document(document: Document, page: Page) -> dict[str, Any]:
    """The `_source` of one page in the `contracts` index (see mappings/contracts-v*.json)."""
    words = page.words
    return {
        "document": {
            "id": document.id,
            "filename": document.filename,
            "path": document.path,
            "pages": document.page_count,
            "size_bytes": document.size_bytes,
            "media_type": document.media_type,
            "ingested_at": document.ingested_at.isoformat(),
        },
        "page": page.number,
        "dpi": page.dpi,
        "page_size": {"width": page.width, "height": page.height},
        "content": page.content,
        "printed_text": page.printed_text,
        "handwriting_text": page.handwriting_text,
        "signature_count": sum(span.kind is HandwritingKind.SIGNATURE for span in page.spans),
        "annotation_count": sum(span.kind is HandwritingKind.ANNOTATION for span in page.spans),
        "handwriting": [_span_document(span) for span in page.spans],
        "entities": rollup_entities(page.spans),
        "engines": dict(page.engines),
        "ocr_confidence": sum(word.confidence for word in words) / len(words) if words else None,
    }
