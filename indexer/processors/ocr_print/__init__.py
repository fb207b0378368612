"""OcrPrinted: OCR the masked page, and redraw tokens that collide with numbers on the page."""

from __future__ import annotations

import logging

from indexer.backends.base import PrintedOcr, PrintedOcrResult, SparseTextReader
from indexer.document import Page, Span
from indexer.errors import ProcessingError
from indexer.processors.anchor import TOKEN_PATTERN, AnchorPainter
from indexer.processors.ocr_print.lost_rows import reread_lost_rows

__all__ = ["OcrPrinted", "colliding_spans"]

log = logging.getLogger(__name__)

_NEAR_BOX_PX = 10


def colliding_spans(result: PrintedOcrResult, spans: list[Span]) -> list[Span]:
    """Spans whose token also appears outside their box: a printed number equal to the token."""
    by_token = {span.anchor: span for span in spans if span.anchor}
    colliding: dict[str, Span] = {}
    for word in result.words:
        for token in TOKEN_PATTERN.findall(word.text):
            span = by_token.get(token)
            if span is not None and not span.box.grown(_NEAR_BOX_PX).holds_centre_of(word.box):
                colliding[token] = span
    return list(colliding.values())


class OcrPrinted:
    """Fills `page.words` and `page.engines` from the page OCR of the masked image."""

    name = "ocr_printed"

    def __init__(
        self, ocr: PrintedOcr, painter: AnchorPainter, *, max_retries: int, reread_lost_rows: bool = True
    ) -> None:
        self._ocr = ocr
        self._painter = painter
        self._max_retries = max_retries
        # Only engines with a sparse mode can re-read rows their layout analysis dropped.
        self._reader = ocr if reread_lost_rows and isinstance(ocr, SparseTextReader) else None

    def describe(self) -> str:
        reread = ", rows with nothing read re-read as sparse text" if self._reader is not None else ""
        return f"{self.name}: {self._ocr.name} {self._ocr.version}{reread}"

    def __call__(self, page: Page) -> Page:
        image = page.masked_image if page.masked_image is not None else page.image
        if image is None:
            raise ProcessingError("the page has no image to OCR", processor=self.name, page=page.number)
        result = self._ocr.read_page(image, dpi=page.dpi)
        for attempt in range(1, self._max_retries + 1):
            colliding = colliding_spans(result, page.spans)
            if not colliding or page.image is None:
                break
            seen_numbers = {match for word in result.words for match in TOKEN_PATTERN.findall(word.text)}
            log.info(
                "page %d: tokens %s also appear in the printed text; retry %d with fresh tokens",
                page.number,
                ", ".join(str(span.anchor) for span in colliding),
                attempt,
            )
            masked = self._painter.reassign(page, colliding, seen=seen_numbers)
            result = self._ocr.read_page(masked, dpi=page.dpi)
        page.words = result.words
        if self._reader is not None and page.masked_image is not None:
            page.words = reread_lost_rows(
                self._reader, page.masked_image, page.words, page.spans, dpi=page.dpi
            )
        page.engines["printed_ocr"] = f"{self._ocr.name} {self._ocr.version}"
        return page
