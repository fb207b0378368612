"""OcrHandwriting: read each non-signature handwriting box with a handwriting recognizer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition, takes_type_hints
from indexer.backends.htr.grammar import GRAMMARS, Grammar
from indexer.backends.htr.grammar import FieldType as GrammarType
from indexer.config import HandwritingSettings
from indexer.document import Box, HandwritingKind, KindSource, Page, Span
from indexer.errors import ProcessingError

__all__ = ["OcrHandwriting", "crop", "type_hint"]

#: Field types (from the printed label) that the typed decoder has a grammar for.
_DECODER_TYPES = frozenset(item.value for item in GrammarType)
#: What a signature box's reading must wholly be to make it an annotation: a scribble's reading is
#: never a whole valid date or amount, a handwritten `10/26/12` boxed as a signature is.
_DATE = Grammar(GrammarType.DATE, GRAMMARS[GrammarType.DATE])
_AMOUNT = Grammar(GrammarType.AMOUNT, GRAMMARS[GrammarType.AMOUNT])
_MIN_FIELD_DIGITS = 3
#: Label types that send a signature box of any height to the reader.
_FIELD_HINTS = frozenset({GrammarType.DATE, GrammarType.AMOUNT})
#: A signature box at most this many times the page's median word height may hold a date.
_TEXT_SIZED_HEIGHT_RATIO = 3.5
#: Pixels of page around each box in the reader's crop: enough to keep stroke ends the box's edge
#: grazes, few enough that slices of the printed lines above and below stay at the crop's edge,
#: where the line splitter drops them. Chosen by cross-validation by document, end to end
#: (docs/experiments/2026-12-04-form-fields.md); the setting `INDEXER_HANDWRITING__CROP_PADDING_PX`
#: holds the default.
CROP_PADDING_PX: int = HandwritingSettings.model_fields["crop_padding_px"].default


def crop(image: np.ndarray, box: Box, *, padding_px: int = CROP_PADDING_PX) -> np.ndarray:
    """The box's pixels plus a margin, clipped to the image."""
    height, width = image.shape[:2]
    return image[
        max(box.y0 - padding_px, 0) : min(box.y1 + padding_px, height),
        max(box.x0 - padding_px, 0) : min(box.x1 + padding_px, width),
    ]


def _set_reading(span: Span, result: Recognition) -> None:
    span.text = result.text.strip()
    span.confidence = float(min(max(result.confidence, 0.0), 1.0))
    span.engine = result.engine


def _is_whole_field(text: str) -> bool:
    # Scribbles read as `$06` or `005841 31` fit the amount grammar; an amount written in a box
    # the detector took for a signature has its dollar sign and more digits.
    if sum(char.isdigit() for char in text) < _MIN_FIELD_DIGITS:
        return False
    return _DATE.accepts(text) or ("$" in text and _AMOUNT.accepts(text))


def type_hint(span: Span) -> GrammarType | None:
    """The decoder grammar the span's label asks for (`Date:` -> date), or None."""
    if span.field_type is None or span.field_type.value not in _DECODER_TYPES:
        return None
    return GrammarType(span.field_type.value)


class OcrHandwriting:
    """Fills `text`, `confidence` and `engine` of annotation spans; signatures are not read.

    When the recognizer decodes by type, each span's label type goes with its crop as a hint.
    The reading may change a span's kind (`KindSource.READING`): a text-sized signature box read
    as a whole date or amount becomes an annotation, and an unlabelled annotation box the
    detector alone called writing, read as nothing, becomes a signature.
    """

    name = "ocr_handwriting"

    def __init__(
        self,
        recognizer: HandwritingRecognizer,
        *,
        batch_size: int = 16,
        read_signatures: bool = False,
        padding_px: int = CROP_PADDING_PX,
    ) -> None:
        self._recognizer = recognizer
        self._batch_size = batch_size
        self._read_signatures = read_signatures
        self._padding_px = padding_px
        self._takes_hints = takes_type_hints(recognizer)

    def describe(self) -> str:
        return f"{self.name}: {self._recognizer.name} {self._recognizer.version}"

    def __call__(self, page: Page) -> Page:
        if page.image is None:
            raise ProcessingError("the page has no image to crop", processor=self.name, page=page.number)
        annotations = [span for span in page.spans if not span.is_signature]
        signatures = self._signatures_to_read(page)
        for span, result in self._batches(page.image, annotations):
            _set_reading(span, result)
            if not span.text and span.kind_source is KindSource.DETECTOR and span.field_type is None:
                # Nothing legible and no label asking for a field: a mark, initials or a scribble
                # the detector took for writing. As a signature it still says the box holds ink.
                span.kind, span.kind_source = HandwritingKind.SIGNATURE, KindSource.READING
        # Signatures after the annotations, in batches of their own; most readings are dropped.
        for span, result in self._batches(page.image, signatures):
            if _is_whole_field(result.text.strip()):
                span.kind, span.kind_source = HandwritingKind.ANNOTATION, KindSource.READING
                _set_reading(span, result)
        for span in page.spans:
            if span.is_signature:
                span.engine = "none"
        page.engines["handwriting_ocr"] = f"{self._recognizer.name} {self._recognizer.version}"
        return page

    def _signatures_to_read(self, page: Page) -> list[Span]:
        """Signature boxes worth reading for a date or amount: text-sized next to the page's print
        (a written date is; most signatures are much taller, and reading them costs time), or
        of any size when their label asks for a date or an amount (a large date written after
        `Date:`, which the detector and the height rule of `decide_kind` call a signature)."""
        if not self._read_signatures:
            return []
        heights = sorted(word.box.height for word in page.words)
        limit = _TEXT_SIZED_HEIGHT_RATIO * heights[len(heights) // 2] if heights else float("inf")
        return [
            span
            for span in page.spans
            if span.is_signature and (span.box.height <= limit or type_hint(span) in _FIELD_HINTS)
        ]

    def _batches(self, image: np.ndarray, spans: list[Span]) -> Iterator[tuple[Span, Recognition]]:
        for start in range(0, len(spans), self._batch_size):
            batch = spans[start : start + self._batch_size]
            yield from zip(batch, self._read(image, batch), strict=True)

    def _read(self, image: np.ndarray, spans: list[Span]) -> list[Recognition]:
        crops = [crop(image, span.box, padding_px=self._padding_px) for span in spans]
        if self._takes_hints:
            return self._recognizer.recognize(crops, type_hints=[type_hint(span) for span in spans])  # type: ignore[call-arg]
        return self._recognizer.recognize(crops)
