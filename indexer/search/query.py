"""Build page searches: full text, handwriting only, by kind, and by handwritten entity ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from indexer.errors import ConfigError

__all__ = ["EntityFilter", "PageQuery", "parse_entity_filter"]

HIGHLIGHT_PRE = "\x02"  # control characters never found in OCR text: safe to split on
HIGHLIGHT_POST = "\x03"
_FIELDS = {
    "date": ("handwriting.entities.dates", "range"),
    "amount": ("handwriting.entities.amounts", "range"),
    "zip": ("handwriting.entities.zip_codes", "term"),
    "phone": ("handwriting.entities.phones", "term"),
    "name": ("handwriting.entities.names", "match"),
    "address": ("handwriting.entities.addresses", "match"),
    "title": ("handwriting.entities.titles", "term"),
}
_RANGE = re.compile(r"^(?P<low>[^.]*)\.\.(?P<high>[^.]*)$")


@dataclass(frozen=True, slots=True)
class EntityFilter:
    """One `--entity TYPE:VALUE` filter; VALUE is `low..high` (either side open) for dates and amounts."""

    field: str
    kind: str
    low: str | None = None
    high: str | None = None
    value: str | None = None

    def clause(self) -> dict[str, Any]:
        if self.kind == "range":
            bounds = {key: bound for key, bound in (("gte", self.low), ("lte", self.high)) if bound}
            return {"range": {self.field: bounds}}
        if self.kind == "term":
            return {"term": {self.field: self.value}}
        return {"match": {self.field: {"query": self.value, "operator": "and"}}}


def parse_entity_filter(text: str) -> EntityFilter:
    """`date:2011-01-01..2011-12-31`, `amount:1000..`, `zip:20852`, `name:Artz`.

    Raises:
        ConfigError: an unknown type or a malformed range.
    """
    kind_name, sep, value = text.partition(":")
    if not sep or kind_name not in _FIELDS or not value:
        raise ConfigError(f"--entity {text!r}: use TYPE:VALUE with TYPE one of {', '.join(_FIELDS)}")
    field_name, kind = _FIELDS[kind_name]
    if kind != "range":
        return EntityFilter(field=field_name, kind=kind, value=value)
    match = _RANGE.match(value)
    if match is None:
        return EntityFilter(field=field_name, kind=kind, low=value, high=value)
    low, high = match.group("low") or None, match.group("high") or None
    if low is None and high is None:
        raise ConfigError(f"--entity {text!r}: give at least one bound, e.g. {kind_name}:1000..")
    return EntityFilter(field=field_name, kind=kind, low=low, high=high)


@dataclass(slots=True)
class PageQuery:
    """What `indexer search` asks for; `body()` is the Elasticsearch search request."""

    text: str = ""
    handwriting_only: bool = False
    kind: str | None = None
    entities: list[EntityFilter] = field(default_factory=list)
    size: int = 10

    def _span_query(self) -> dict[str, Any]:
        """What one handwriting span must satisfy (nested: all on the same span)."""
        must: list[dict[str, Any]] = []
        if self.text and self.handwriting_only:
            must.append({"match": {"handwriting.text": {"query": self.text}}})
        filters: list[dict[str, Any]] = [entity.clause() for entity in self.entities]
        if self.kind:
            filters.append({"term": {"handwriting.kind": self.kind}})
        return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}

    def _needs_span(self) -> bool:
        return self.handwriting_only or bool(self.kind) or bool(self.entities)

    def body(self) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        if self.text and not self.handwriting_only:
            must.append(
                {
                    "multi_match": {
                        "query": self.text,
                        "fields": ["content", "handwriting_text^2", "document.filename.text"],
                    }
                }
            )
        if self._needs_span():
            must.append(
                {
                    "nested": {
                        "path": "handwriting",
                        "query": self._span_query(),
                        "score_mode": "max",
                        "inner_hits": {
                            "size": 5,
                            "_source": [
                                "handwriting.kind",
                                "handwriting.text",
                                "handwriting.bbox",
                                "handwriting.entities",
                            ],
                            "highlight": {
                                "fields": {"handwriting.text": {"number_of_fragments": 0}},
                                "pre_tags": [HIGHLIGHT_PRE],
                                "post_tags": [HIGHLIGHT_POST],
                            },
                        },
                    }
                }
            )
        query: dict[str, Any] = {"bool": {"must": must}} if must else {"match_all": {}}
        return {
            "query": query,
            "size": self.size,
            "_source": [
                "document.filename",
                "document.path",
                "document.id",
                "page",
                "content",
                "handwriting",
            ],
            "highlight": {
                "pre_tags": [HIGHLIGHT_PRE],
                "post_tags": [HIGHLIGHT_POST],
                "fields": {
                    "content": {"fragment_size": 160, "number_of_fragments": 3},
                    "handwriting_text": {"number_of_fragments": 0},
                },
            },
        }
