"""OcrHandwriting: read each non-signature handwriting box with a handwriting recognizer."""

from __future__ import annotations

import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition, takes_type_hints
from indexer.backends.htr.grammar import FieldType as GrammarType
from indexer.document import Box, Page, Span
from indexer.errors import ProcessingError

__all__ = ["OcrHandwriting", "crop", "type_hint"]

#: Field types (from the printed label) that the typed decoder has a grammar for.
_DECODER_TYPES = frozenset(item.value for item in GrammarType)
#: Labelled boxes are tight or loose by a few pixels; a little margin keeps stroke ends.
CROP_PADDING_PX = 6


def crop(image: np.ndarray, box: Box, *, padding_px: int = CROP_PADDING_PX) -> np.ndarray:
    """The box's pixels plus a margin, clipped to the image."""
    height, width = image.shape[:2]
    return image[
        max(box.y0 - padding_px, 0) : min(box.y1 + padding_px, height),
        max(box.x0 - padding_px, 0) : min(box.x1 + padding_px, width),
    ]


def type_hint(span: Span) -> GrammarType | None:
    """The decoder grammar the span's label asks for (`Date:` -> date), or None."""
    if span.field_type is None or span.field_type.value not in _DECODER_TYPES:
        return None
    return GrammarType(span.field_type.value)


class OcrHandwriting:
    """Fills `text`, `confidence` and `engine` of annotation spans; signatures are not read.

    When the recognizer decodes by type, each span's label type goes with its crop as a hint.
    """

    name = "ocr_handwriting"

    def __init__(self, recognizer: HandwritingRecognizer, *, batch_size: int = 16) -> None:
        self._recognizer = recognizer
        self._batch_size = batch_size
        self._takes_hints = takes_type_hints(recognizer)

    def describe(self) -> str:
        return f"{self.name}: {self._recognizer.name} {self._recognizer.version}"

    def __call__(self, page: Page) -> Page:
        if page.image is None:
            raise ProcessingError("the page has no image to crop", processor=self.name, page=page.number)
        to_read = [span for span in page.spans if not span.is_signature]
        for start in range(0, len(to_read), self._batch_size):
            batch = to_read[start : start + self._batch_size]
            results = self._read(page.image, batch)
            for span, result in zip(batch, results, strict=True):
                span.text = result.text.strip()
                span.confidence = float(min(max(result.confidence, 0.0), 1.0))
                span.engine = result.engine
        for span in page.spans:
            if span.is_signature:
                span.engine = "none"
        page.engines["handwriting_ocr"] = f"{self._recognizer.name} {self._recognizer.version}"
        return page

    def _read(self, image: np.ndarray, spans: list[Span]) -> list[Recognition]:
        crops = [crop(image, span.box) for span in spans]
        if self._takes_hints:
            return self._recognizer.recognize(crops, type_hints=[type_hint(span) for span in spans])  # type: ignore[call-arg]
        return self._recognizer.recognize(crops)
