"""FindLabels: each handwriting box gets its printed label, the field type it names, and its kind.

Runs after the page OCR (the labels are printed words) and before the handwriting is read, so a
box the detector called a signature but labelled `Date:` is read, and read as a date.
"""

from __future__ import annotations

import logging

from indexer.document import Box, FieldType, HandwritingKind, KindSource, Label, Page, Span, Word
from indexer.processors.fields.labels import (
    ROW_SIDE,
    RULE_SIDE,
    cell_heading,
    find_label,
    printed_words,
    rule_caption,
)

__all__ = ["ANNOTATION_TYPES", "MAX_TEXT_HEIGHT_RATIO", "SURE_SIGNATURE_SCORE", "FindLabels", "decide_kind"]

log = logging.getLogger(__name__)

#: Label types that make a box an annotation whatever the detector said.
ANNOTATION_TYPES = frozenset(
    {
        FieldType.DATE,
        FieldType.AMOUNT,
        FieldType.NAME,
        FieldType.TITLE,
        FieldType.ADDRESS,
        FieldType.ZIP,
        FieldType.PHONE,
    }
)


#: A field written as text is at most this many times as tall as its label's print; a taller box
#: the detector calls a signature is one (signatures rise high over the line and over the labels of
#: the lines next to theirs), whatever label it reaches.
MAX_TEXT_HEIGHT_RATIO = 2.5
#: ... but only when the detector is sure of its signature: below this score (the fold models
#: give real signatures 0.96 and more on nine in ten, and the text fields they take for
#: signatures 0.82-0.86) the label decides (chosen by cross-validation by document:
#: docs/experiments/2026-12-04-form-fields.md).
SURE_SIGNATURE_SCORE = 0.9


def _doubted_signature(detected: HandwritingKind, score: float) -> bool:
    """A box the detector called a signature with a score under the sure bar."""
    return detected is HandwritingKind.SIGNATURE and score < SURE_SIGNATURE_SCORE


def decide_kind(
    detected: HandwritingKind,
    label: Label | None,
    label_type: FieldType | None,
    box: Box,
    score: float = 1.0,
) -> HandwritingKind:
    """The span's kind: the label's when it names one and is close enough, else the detector's.

    - A typed label (`Date:`, `Name`) makes a box an annotation, unless the detector called it a
      signature with a sure `score` and it is much taller than the label's print (a signature
      reaching a label).
    - A signature label makes a box a signature when it is on the box's line (`By:`,
      `Signature:`); a caption under a box (`(Signature)`) may belong to the line next to it.
    - A written name on a signature line stays a signature unless a name label claims it.
    - A piece cut for a block row (`split_blocks`) takes its row label's kind: it is one row.
    - So does a box over the bracketed caption of its own rule (`V.P.` written large over
      `(Title)`): the caption is the blank's, not a neighbouring field's.
    - A signature box the detector doubts under a form cell's heading that names no type
      (`a. FLOOR(S)`, type `text`) is the cell's text field.
    """
    if label is None or label_type is None:
        return detected
    if label_type is FieldType.TEXT:
        # An untyped cell heading over the box (`a. FLOOR(S)`): the cell holds a text field.
        doubted = _doubted_signature(detected, score)
        return HandwritingKind.ANNOTATION if label.side == "above" and doubted else detected
    if label_type is FieldType.SIGNATURE:
        return HandwritingKind.SIGNATURE if label.side in ("left", ROW_SIDE) else detected
    if label_type not in ANNOTATION_TYPES:
        return detected
    if (
        detected is HandwritingKind.SIGNATURE
        and score >= SURE_SIGNATURE_SCORE
        and label.side not in (ROW_SIDE, RULE_SIDE)
        and box.height > MAX_TEXT_HEIGHT_RATIO * label.line_height
    ):
        return detected
    return HandwritingKind.ANNOTATION


class FindLabels:
    """Fills each span's `label`, `field_type`, `detected_kind` and `kind_source`, and sets its kind."""

    name = "find_labels"

    def describe(self) -> str:
        return (
            f"{self.name}: printed words left of, below or above each box, or the caption under its "
            "rule; kind and type from them"
        )

    def __call__(self, page: Page) -> Page:
        printed = printed_words(page.words, [span.anchor_box or span.box for span in page.spans])
        for span in page.spans:
            others = [other.box for other in page.spans if other is not span]
            self._label(span, page.number, printed, others)
        return page

    @staticmethod
    def _label(span: Span, page_number: int, printed: list[Word], others: list[Box]) -> None:
        detected = span.detected_kind or span.kind
        span.detected_kind = detected
        # A piece `split_blocks` cut for a block row keeps that row's label, read before masking:
        # the page OCR may read none there (handwriting crossing it) or the next row's.
        if span.label is None or span.label.side != ROW_SIDE:
            span.label, span.field_type = find_label(printed, span.box, others)
            # The caption of the box's own blank outranks a caption merely below it, or none.
            if span.rule is not None and (
                span.label is None or span.field_type is None or span.label.side == "below"
            ):
                caption = rule_caption(printed, span.box, span.rule, others)
                if caption is not None and caption[1] in ANNOTATION_TYPES:
                    span.label, span.field_type = caption
            if span.field_type is None and _doubted_signature(detected, span.detection_score):
                heading = cell_heading(printed, span.box, others)
                if heading is not None:
                    span.label, span.field_type = heading, FieldType.TEXT
        if span.kind_source in (KindSource.PERSON, KindSource.READING):
            return
        span.kind = decide_kind(detected, span.label, span.field_type, span.box, span.detection_score)
        span.kind_source = KindSource.LABEL if span.kind is not detected else KindSource.DETECTOR
        if span.kind_source is KindSource.LABEL:
            log.debug(
                "page %d: span %s is a %s, not a %s: labelled %r",
                page_number,
                span.id,
                span.kind.value,
                detected.value,
                span.label.text if span.label else "",
            )
