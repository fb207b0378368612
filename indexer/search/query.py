"""Build page searches: full text, handwriting only, by kind, and by handwritten entity ranges.

The words use Elasticsearch's `simple_query_string` syntax: all words must match, `"..."` is a
phrase, `-word` excludes, `a | b` is either, `pre*` a prefix; `*` alone (or nothing) matches every page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from indexer.errors import ConfigError

__all__ = [
    "FIELD_HITS_PREFIX",
    "HIGHLIGHT_POST",
    "HIGHLIGHT_PRE",
    "EntityFilter",
    "FieldFilter",
    "PageQuery",
    "parse_entity_filter",
    "parse_field_filter",
    "split_highlight",
]

log = logging.getLogger(__name__)

# Private-use characters, which OCR text never holds, so safe to split on. Never control characters:
# Lucene trims each fragment with Java's String.trim(), which drops every char <= U+0020, so such a
# tag at either end of a fragment would vanish and leave the match half-marked.
HIGHLIGHT_PRE = "\ue000"
HIGHLIGHT_POST = "\ue001"
_HIGHLIGHT_TAG = re.compile(f"({HIGHLIGHT_PRE}|{HIGHLIGHT_POST})")
#: Text that means "every page": no words to match, only the filters.
_MATCH_EVERYTHING = frozenset({"", "*"})
_TEXT_FIELDS = ["content", "handwriting_text^2", "document.filename.text"]
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


def _split_filter(text: str, option: str, types: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """`TYPE:VALUE` -> (TYPE, VALUE), TYPE one of `types`.

    Raises:
        ConfigError: no colon, an unknown type or no value.
    """
    type_name, sep, value = text.partition(":")
    if not sep or type_name not in types or not value:
        raise ConfigError(f"{option} {text!r}: use TYPE:VALUE with TYPE one of {', '.join(types)}")
    return type_name, value


def _value_filter(
    text: str, option: str, type_name: str, field_name: str, kind: str, value: str
) -> EntityFilter:
    """The clause for one VALUE: a range `low..high` (either side open), a term or words.

    Raises:
        ConfigError: a range with neither bound.
    """
    if kind != "range":
        return EntityFilter(field=field_name, kind=kind, value=value)
    match = _RANGE.match(value)
    if match is None:
        return EntityFilter(field=field_name, kind=kind, low=value, high=value)
    low, high = match.group("low") or None, match.group("high") or None
    if low is None and high is None:
        raise ConfigError(f"{option} {text!r}: give at least one bound, e.g. {type_name}:1000..")
    return EntityFilter(field=field_name, kind=kind, low=low, high=high)


def parse_entity_filter(text: str) -> EntityFilter:
    """`date:2011-01-01..2011-12-31`, `amount:1000..`, `zip:20852`, `name:Artz`.

    Raises:
        ConfigError: an unknown type or a malformed range.
    """
    kind_name, value = _split_filter(text, "--entity", _FIELDS)
    return _value_filter(text, "--entity", kind_name, *_FIELDS[kind_name], value)


#: `--field TYPE:VALUE`: the field types and how VALUE is matched (see mappings, `fields`).
_FIELD_TYPES = {
    "date": ("fields.value_date", "range"),
    "amount": ("fields.value_number", "range"),
    "zip": ("fields.value", "term"),
    "phone": ("fields.value", "term"),
    "name": ("fields.value_text", "match"),
    "title": ("fields.value_text", "match"),
    "address": ("fields.value_text", "match"),
    "text": ("fields.value_text", "match"),
    "signature": ("fields.value", "term"),
}
#: Inner hits of `--field` filters are named this plus the filter's position.
FIELD_HITS_PREFIX = "fields-"
#: A VALUE that asks only for a field of the type to be there.
_ANY_VALUE = "*"


@dataclass(frozen=True, slots=True)
class FieldFilter:
    """One `--field TYPE:VALUE` filter: a form field of that type whose value matches (one field)."""

    type: str
    value: EntityFilter | None

    def query(self, name: str) -> dict[str, Any]:
        """The nested clause; `name` names its inner hits (the matching fields) in the response."""
        filters: list[dict[str, Any]] = [{"term": {"fields.type": self.type}}]
        if self.value is not None:
            filters.append(self.value.clause())
        return {
            "nested": {
                "path": "fields",
                "query": {"bool": {"filter": filters}},
                "inner_hits": {"name": name, "size": 3},
            }
        }


def parse_field_filter(text: str) -> FieldFilter:
    """`date:2011-01-01..2011-12-31`, `amount:1000..`, `title:member`, `zip:96813`, `signature:*`.

    Raises:
        ConfigError: an unknown type or a malformed range.
    """
    type_name, value = _split_filter(text, "--field", _FIELD_TYPES)
    if value == _ANY_VALUE:
        return FieldFilter(type_name, None)
    return FieldFilter(type_name, _value_filter(text, "--field", type_name, *_FIELD_TYPES[type_name], value))


@dataclass(slots=True)
class PageQuery:
    """What `indexer search` asks for; `body()` is the Elasticsearch search request."""

    text: str = ""
    handwriting_only: bool = False
    kind: str | None = None
    entities: list[EntityFilter] = field(default_factory=list)
    fields: list[FieldFilter] = field(default_factory=list)
    size: int = 10

    def _span_query(self) -> dict[str, Any]:
        """What one handwriting span must satisfy (nested: all on the same span)."""
        must: list[dict[str, Any]] = []
        if self._has_words() and self.handwriting_only:
            must.append(self._words_query(["handwriting.text"]))
        filters: list[dict[str, Any]] = [entity.clause() for entity in self.entities]
        if self.kind:
            filters.append({"term": {"handwriting.kind": self.kind}})
        return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}

    def _has_words(self) -> bool:
        return self.text.strip() not in _MATCH_EVERYTHING

    def _words_query(self, fields: list[str]) -> dict[str, Any]:
        # simple_query_string ignores malformed syntax instead of answering 400. "and": each added
        # word narrows the search, as in web search engines, and `a -b` means "a without b"
        # (with "or" it would mean "a, or anything without b").
        return {"simple_query_string": {"query": self.text, "fields": fields, "default_operator": "and"}}

    def _needs_span(self) -> bool:
        return self.handwriting_only or bool(self.kind) or bool(self.entities)

    def body(self) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        if self._has_words() and not self.handwriting_only:
            must.append(self._words_query(_TEXT_FIELDS))
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
        must += [item.query(f"{FIELD_HITS_PREFIX}{index}") for index, item in enumerate(self.fields)]
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
                "fields",
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


def split_highlight(fragment: str) -> list[tuple[str, bool]]:
    """Split a highlighted fragment into `(text, is_match)` parts, balanced even if a tag is missing.

    A closing tag before any opening one marks the fragment's start as matched (its opening tag was
    cut off); an opening tag never closed runs to the end; other stray tags are dropped.
    """
    parts: list[tuple[str, bool]] = []
    is_match = False
    seen_tag = False
    for token in _HIGHLIGHT_TAG.split(fragment):
        if token == HIGHLIGHT_PRE:
            is_match = seen_tag = True
        elif token == HIGHLIGHT_POST:
            if not seen_tag and parts:
                parts[0] = (parts[0][0], True)
            is_match, seen_tag = False, True
        elif token:
            if parts and parts[-1][1] == is_match:
                parts[-1] = (parts[-1][0] + token, is_match)
            else:
                parts.append((token, is_match))
    return parts
