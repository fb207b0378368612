"""The one place that turns the document model into an Elasticsearch page document."""

from __future__ import annotations

from typing import Any

from indexer.document import Box, Document, Field, FieldType, HandwritingKind, Page, Span

__all__ = ["page_document", "rollup_entities", "rollup_fields"]

# Page-level entity roll-up keys: the per-span lists that Kibana filters on.
_ROLLUP_KEYS = ("dates", "amounts", "addresses", "zip_codes", "phones", "names", "titles")


def _bbox(box: Box) -> dict[str, int]:
    return {"x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1}


def _span_document(span: Span) -> dict[str, Any]:
    label = span.label
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
        "bbox": _bbox(span.box),
        "entities": span.entities,
        "label": {"text": label.text, "side": label.side, "bbox": _bbox(label.box)} if label else None,
        "field_type": span.field_type.value if span.field_type else None,
        "detected_kind": span.detected_kind.value if span.detected_kind else None,
        "kind_source": span.kind_source.value,
    }


def _field_document(item: Field) -> dict[str, Any]:
    return {
        "span_id": item.span_id,
        "type": item.type.value,
        "label": item.label,
        "value_text": item.value_text,
        "value": item.value,
        "value_date": item.value_date,
        "value_number": item.value_number,
        "confidence": item.confidence,
        "bbox": _bbox(item.box),
    }


def rollup_fields(fields: list[Field]) -> dict[str, list[Any]]:
    """Every field's value per type (dates as ISO dates, amounts as numbers), without duplicates."""
    rolled: dict[str, list[Any]] = {}
    for item in fields:
        value: Any = item.value
        if item.type is FieldType.DATE:
            value = item.value_date
        elif item.type is FieldType.AMOUNT:
            value = item.value_number
        if value is None:
            continue
        values = rolled.setdefault(item.type.value, [])
        if value not in values:
            values.append(value)
    return rolled


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
        "fields": [_field_document(item) for item in page.fields],
        "field_types": sorted({item.type.value for item in page.fields}),
        "field_values": rollup_fields(page.fields),
        "engines": dict(page.engines),
        "ocr_confidence": sum(word.confidence for word in words) / len(words) if words else None,
    }
