"""ExtractEntities: dates, amounts, addresses, zip codes, phones, names and titles from handwriting.

The payload of handwriting on a contract is what it says: the lease start date written in by
hand, an amended amount, an address, who signed and as what. Each annotation span gets
`entities` in the shape of `handwriting.entities` in the mapping (lists per kind, plus `raw`
entries that keep the text as written beside each normalised value); the page-level roll-up
for Kibana filters is built from them when the page is indexed. A signature's own text is a
scribble, so for signatures the signer's name and title are read from the printed words beside
it instead, when `entities.signer_names_from_print` is on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from indexer.config import EntitySettings
from indexer.document import Box, Page, Span, Word
from indexer.processors.entity_dates import DateFinder, Found, find_amounts, mask, normalise_ocr_digits
from indexer.processors.entity_people import (
    find_addresses,
    find_names,
    find_phones,
    find_titles,
    find_zip_codes,
)

__all__ = ["ENTITY_KEYS", "EntityExtractor", "ExtractEntities"]

log = logging.getLogger(__name__)

#: Entity kind -> the list it goes into under `handwriting.entities` (see mappings/contracts-v1.json).
ENTITY_KEYS = {
    "date": "dates",
    "amount": "amounts",
    "address": "addresses",
    "zip_code": "zip_codes",
    "phone": "phones",
    "name": "names",
    "title": "titles",
}
# Around a signature, where its printed name and title are: box heights above and below.
_SIGNER_ABOVE_HEIGHTS = 0.5
_SIGNER_BELOW_HEIGHTS = 2.0


class EntityExtractor:
    """Text -> entities, in the order that keeps one piece of text from counting twice."""

    def __init__(self, settings: EntitySettings) -> None:
        self._find_dates = DateFinder(settings)

    def find(self, text: str) -> list[Found]:
        """Every entity in `text`; dates, phones, amounts and titles are blanked before the next kinds run.

        A zip code is both itself and part of its address; an address holds place names that read
        like people's (La Jolla), so a text with an address gets no names.
        """
        cleaned = normalise_ocr_digits(text)
        found: list[Found] = []
        for finder in (self._find_dates, find_phones, find_amounts, find_titles):
            found += finder(mask(cleaned, found))
        rest = mask(cleaned, found)
        addresses = find_addresses(rest)
        found += find_zip_codes(rest) + (addresses or find_names(rest))
        # `raw` keeps the text as written, before the digit look-alikes were undone.
        as_written = [replace(item, text=text[item.start : item.end].strip()) for item in found + addresses]
        return sorted(as_written, key=lambda item: (item.start, item.kind))

    def find_people(self, text: str) -> list[Found]:
        """Names and titles only (printed text beside a signature)."""
        titles = find_titles(text)
        return sorted(titles + find_names(mask(text, titles)), key=lambda item: item.start)

    def entities(self, text: str) -> dict[str, Any]:
        """`handwriting.entities` for `text`: a list per kind, and the raw text of each value."""
        return as_entities(self.find(text))


def as_entities(found: list[Found]) -> dict[str, Any]:
    """Found entities in the mapping's shape: each key a list without duplicates, plus `raw`."""
    entities: dict[str, Any] = {key: [] for key in ENTITY_KEYS.values()}
    entities["raw"] = []
    for item in found:
        values = entities[ENTITY_KEYS[item.kind]]
        if item.value not in values:
            values.append(item.value)
        entities["raw"].append({"type": item.kind, "text": item.text, "value": str(item.value)})
    return entities


def _signer_lines(words: list[Word], box: Box) -> str:
    """The printed words beside a signature box, one line per OCR line, in reading order."""
    top = box.y0 - _SIGNER_ABOVE_HEIGHTS * box.height
    bottom = box.y1 + _SIGNER_BELOW_HEIGHTS * box.height
    margin = box.width / 2
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in words:
        x, y = word.box.center
        if top <= y <= bottom and box.x0 - margin <= x <= box.x1 + margin:
            lines.setdefault((word.block, word.line), []).append(word)
    ordered = sorted(lines.values(), key=lambda line: min(word.box.y0 for word in line))
    return "\n".join(" ".join(word.text for word in sorted(line, key=lambda w: w.box.x0)) for line in ordered)


class ExtractEntities:
    """Fills `entities` of every span: from its text for annotations, from print beside signatures."""

    name = "extract_entities"

    def __init__(self, settings: EntitySettings) -> None:
        self._settings = settings
        self._extractor = EntityExtractor(settings)

    def describe(self) -> str:
        signers = "on" if self._settings.signer_names_from_print else "off"
        return (
            f"{self.name}: dateparser ({self._settings.date_order}), price-parser, usaddress, "
            f"probablepeople, phonenumbers; signer names from print {signers}"
        )

    def __call__(self, page: Page) -> Page:
        for span in page.spans:
            span.entities = self._span_entities(span, page)
        log.debug(
            "page %d: entities in %d of %d spans",
            page.number,
            sum(bool(span.entities["raw"]) for span in page.spans),
            len(page.spans),
        )
        return page

    def _span_entities(self, span: Span, page: Page) -> dict[str, Any]:
        if not span.is_signature:
            return self._extractor.entities(span.text)
        if not self._settings.signer_names_from_print:
            return as_entities([])
        return as_entities(self._extractor.find_people(_signer_lines(page.words, span.box)))
