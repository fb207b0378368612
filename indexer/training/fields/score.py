"""Scores of the whole path, from what the index holds against what a person read.

Per person-read box:
- found: annotation spans cover at least half of it;
- end-to-end CER: the covering spans' readings (in reading order) against the person's; a box
  with no covering span costs its whole length;
- exact: the normalised reading equals the person's;
- date: the person's reading is a date, and its ISO value is in the covering spans' dates.
Per drawn box (read or not, signatures too): the kind of the span that overlaps it most, for the
kind confusions.
Per page: printed words lost to masking (reference words of the unmasked page that are not
handwriting, at least half under an area the anchor step blanked).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from indexer.backends.htr.grammar import parse_date
from indexer.document import Box, HandwritingKind, Word
from indexer.training.fields.truth import TruthBox, TruthPage
from indexer.training.htr.metrics import edit_distance, normalise

__all__ = ["FieldsReport", "IndexedSpan", "PageScore", "lost_printed_words", "score_page", "summarise"]

#: Share of a person's box that annotation spans must cover for it to count as found.
FOUND_COVER = 0.5
#: A span belongs to a person's box when this share of the span (or of the box) lies in it.
BELONGS_SHARE = 0.5
#: A reference word is handwriting (not print) when this share of it lies in a person's box.
HANDWRITING_SHARE = 0.3
#: A printed word is lost when this share of it lies under a blanked area.
LOST_SHARE = 0.5
MISSED = "missed"


@dataclass(frozen=True, slots=True)
class IndexedSpan:
    """One handwriting span as the index holds it (the `handwriting` entries of a page)."""

    kind: str
    box: Box
    text: str
    dates: tuple[str, ...]
    label: str = ""
    field_type: str = ""
    detected_kind: str = ""

    @classmethod
    def from_source(cls, span: dict[str, Any], field_dates: Sequence[str] = ()) -> IndexedSpan:
        bbox = span["bbox"]
        dates = tuple(str(value)[:10] for value in span.get("entities", {}).get("dates", []))
        return cls(
            kind=str(span["kind"]),
            box=Box(bbox["x0"], bbox["y0"], bbox["x1"], bbox["y1"]),
            text=str(span.get("text") or ""),
            dates=dates + tuple(field_dates),
            label=str((span.get("label") or {}).get("text", "")),
            field_type=str(span.get("field_type") or ""),
            detected_kind=str(span.get("detected_kind") or ""),
        )


@dataclass(slots=True)
class PageScore:
    stem: str
    #: Per person-read box: (found, reading, truth, date right or None when the truth is no date).
    read: list[tuple[bool, str, str, bool | None]] = field(default_factory=list)
    #: (person's kind, the index's kind or `missed`) for every drawn box.
    kinds: list[tuple[str, str]] = field(default_factory=list)
    printed_words: int = 0
    printed_lost: int = 0
    #: One row per drawn box, for `--out`: what the person drew and read, what the index holds.
    details: list[dict[str, Any]] = field(default_factory=list)


def _belongs(span: Box, truth: Box) -> bool:
    shared = span.intersection(truth)
    return shared >= BELONGS_SHARE * span.area or shared >= BELONGS_SHARE * truth.area


def _reading_order(spans: list[IndexedSpan]) -> list[IndexedSpan]:
    return sorted(spans, key=lambda span: (span.box.center[1], span.box.x0))


def score_page(truth: TruthPage, spans: Sequence[IndexedSpan]) -> PageScore:
    """The scores of one page's person-read boxes and drawn boxes against its indexed spans."""
    result = PageScore(truth.stem)
    annotations = [span for span in spans if span.kind == HandwritingKind.ANNOTATION.value]
    for box in truth.boxes:
        if box.text is None:
            continue
        covering = _reading_order([span for span in annotations if _belongs(span.box, box.box)])
        covered = sum(span.box.intersection(box.box) for span in covering)
        reading = " ".join(span.text for span in covering if span.text)
        expected = parse_date(box.text)
        date_right = None
        if expected is not None:
            date_right = expected.isoformat() in {value for span in covering for value in span.dates}
        result.read.append((covered >= FOUND_COVER * box.box.area, reading, box.text, date_right))
    for box in truth.boxes:
        best = max(spans, key=lambda span: span.box.intersection(box.box), default=None)
        matched = best if best is not None and _belongs(best.box, box.box) else None
        result.kinds.append((box.kind.value, matched.kind if matched is not None else MISSED))
        result.details.append(_detail(truth.stem, box, matched, annotations))
    return result


def _detail(
    stem: str, box: TruthBox, matched: IndexedSpan | None, annotations: list[IndexedSpan]
) -> dict[str, Any]:
    covering = _reading_order([span for span in annotations if _belongs(span.box, box.box)])
    return {
        "page": stem,
        "box": box.box.as_tuple(),
        "kind": box.kind.value,
        "truth": box.text,
        "reading": " ".join(span.text for span in covering if span.text),
        "span_boxes": [span.box.as_tuple() for span in covering],
        "index_kind": matched.kind if matched is not None else MISSED,
        "detected_kind": matched.detected_kind if matched is not None else "",
        "label": matched.label if matched is not None else "",
        "field_type": matched.field_type if matched is not None else "",
    }


def lost_printed_words(
    reference: Sequence[Word], truth: Sequence[TruthBox], blanked: Sequence[Box]
) -> tuple[int, list[Word]]:
    """(how many printed words the unmasked page has, those the masking blanked).

    `reference` is the OCR of the unmasked page; words that lie in a person's handwriting box are
    handwriting, not print, and are left out.
    """
    printed = [
        word
        for word in reference
        if not any(word.box.intersection(box.box) >= HANDWRITING_SHARE * word.box.area for box in truth)
    ]
    lost = [
        word
        for word in printed
        if any(word.box.intersection(area) >= LOST_SHARE * word.box.area for area in blanked)
    ]
    return len(printed), lost


@dataclass(frozen=True, slots=True)
class FieldsReport:
    pages: int
    boxes: int
    found: int
    cer: float
    exact: int
    dates: tuple[int, int]
    #: (person's kind, index's kind) -> count.
    kinds: dict[tuple[str, str], int]
    #: Per page: share of its printed words lost to masking.
    lost_shares: list[float]
    lost_words: tuple[int, int]

    @property
    def found_share(self) -> float:
        return self.found / max(self.boxes, 1)

    @property
    def date_accuracy(self) -> float:
        return self.dates[0] / max(self.dates[1], 1)

    def confusion(self, truth: HandwritingKind, predicted: HandwritingKind) -> float:
        """Share of the person's `truth` boxes that the index holds as `predicted`."""
        total = sum(count for (kind, _), count in self.kinds.items() if kind == truth.value)
        return self.kinds.get((truth.value, predicted.value), 0) / max(total, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "boxes": self.boxes,
            "found": round(self.found_share, 4),
            "cer": round(self.cer, 4),
            "exact": self.exact,
            "date_accuracy": round(self.date_accuracy, 4),
            "dates": list(self.dates),
            "signature_as_annotation": round(
                self.confusion(HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION), 4
            ),
            "annotation_as_signature": round(
                self.confusion(HandwritingKind.ANNOTATION, HandwritingKind.SIGNATURE), 4
            ),
            "kinds": {f"{truth}->{index}": count for (truth, index), count in sorted(self.kinds.items())},
            "printed_words_lost": list(self.lost_words),
            "median_page_lost_share": round(statistics.median(self.lost_shares), 4)
            if self.lost_shares
            else None,
        }


def summarise(pages: Sequence[PageScore]) -> FieldsReport:
    """Pool every page's scores (CER over all characters, as evaluate-ocr)."""
    edits = characters = found = exact = 0
    dates_right = dates = 0
    for page in pages:
        for was_found, reading, text, date_right in page.read:
            predicted, expected = normalise(reading), normalise(text)
            edits += edit_distance(predicted, expected)
            characters += len(expected)
            found += was_found
            exact += predicted == expected
            if date_right is not None:
                dates += 1
                dates_right += date_right
    return FieldsReport(
        pages=len(pages),
        boxes=sum(len(page.read) for page in pages),
        found=found,
        cer=edits / max(characters, 1),
        exact=exact,
        dates=(dates_right, dates),
        kinds=dict(Counter(pair for page in pages for pair in page.kinds)),
        lost_shares=[page.printed_lost / page.printed_words for page in pages if page.printed_words],
        lost_words=(sum(page.printed_lost for page in pages), sum(page.printed_words for page in pages)),
    )
