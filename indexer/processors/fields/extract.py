"""ExtractFields: one form field per handwriting span, typed and normalised for the index.

The type is the label's when the label names one; otherwise it comes from what the reading holds
(a date, an amount, ...), and a signature is a signature. The value is normalised per type from
the span's entities (`ExtractEntities` ran before): an ISO date, a number, a zip code, an E.164
phone; names, titles, addresses and free text keep the reading with its spacing cleaned.
"""

from __future__ import annotations

import logging
from typing import Any

from indexer.document import Field, FieldType, Page, Span

__all__ = ["ExtractFields", "field_of"]

log = logging.getLogger(__name__)

#: What a signature field's value is: whether the page is signed, not what the scribble says.
SIGNED = "signed"
# Entity list (see `processors.entities.ENTITY_KEYS`) -> the type it gives an unlabelled reading,
# in the order they are tried.
_TYPE_FROM_ENTITIES = (
    ("dates", FieldType.DATE),
    ("amounts", FieldType.AMOUNT),
    ("phones", FieldType.PHONE),
    ("addresses", FieldType.ADDRESS),
    ("zip_codes", FieldType.ZIP),
)
_VALUE_ENTITIES = {
    FieldType.DATE: "dates",
    FieldType.AMOUNT: "amounts",
    FieldType.PHONE: "phones",
    FieldType.ZIP: "zip_codes",
    FieldType.ADDRESS: "addresses",
    FieldType.NAME: "names",
    FieldType.TITLE: "titles",
}


def _field_type(span: Span) -> FieldType:
    if span.is_signature:
        return FieldType.SIGNATURE
    if span.field_type is not None and span.field_type is not FieldType.SIGNATURE:
        return span.field_type
    for key, kind in _TYPE_FROM_ENTITIES:
        if span.entities.get(key):
            return kind
    return FieldType.TEXT


def _first(entities: dict[str, Any], key: str) -> Any:
    values = entities.get(key) or []
    return values[0] if values else None


def field_of(span: Span) -> Field:
    """The span as a form field: its type, its label and its value normalised per type."""
    kind = _field_type(span)
    text = " ".join(span.text.split())
    label = span.label.text if span.label is not None else ""
    confidence = span.detection_score if span.is_signature else span.confidence
    item = Field(span.id, kind, label, text, None, span.box, float(min(max(confidence, 0.0), 1.0)))
    if kind is FieldType.SIGNATURE:
        item.value = SIGNED
        return item
    found = _first(span.entities, _VALUE_ENTITIES[kind]) if kind in _VALUE_ENTITIES else None
    if kind is FieldType.DATE:
        item.value_date = item.value = str(found) if found is not None else None
    elif kind is FieldType.AMOUNT:
        item.value_number = float(found) if found is not None else None
        item.value = f"{item.value_number:.2f}" if item.value_number is not None else None
    elif kind in (FieldType.PHONE, FieldType.ZIP):
        item.value = str(found) if found is not None else None
    else:
        # Names, titles, addresses and text: the reading itself is the value.
        item.value = text or None
    return item


class ExtractFields:
    """Fills `page.fields`: one field per span, in page order."""

    name = "extract_fields"

    def describe(self) -> str:
        return f"{self.name}: type from the label, else from the reading; values normalised per type"

    def __call__(self, page: Page) -> Page:
        page.fields = [field_of(span) for span in page.spans]
        log.debug(
            "page %d: fields %s",
            page.number,
            ", ".join(f"{item.type.value}={item.value}" for item in page.fields),
        )
        return page
