"""DetectHandwriting: find handwriting boxes on the page and create one span per box."""

from __future__ import annotations

import logging

from indexer.backends.base import BoxDetector, CandidateDetector, Detection, MappingDetector
from indexer.document import Page, Span
from indexer.errors import ProcessingError

__all__ = ["MIN_PAGE_SIDE_PX", "DetectHandwriting"]

log = logging.getLogger(__name__)

#: A page narrower or lower than this holds no handwriting a detector could find (a 1-pixel
#: image is a valid file, not an error): it gets no boxes instead of a detector failure.
MIN_PAGE_SIDE_PX = 32


class DetectHandwriting:
    """Fills `page.spans` (kind, box, detection score) from a `BoxDetector`, and
    `page.handwriting_map` when the detector gives its probabilities.

    With `candidate_scale` and a detector that can read the page again (`CandidateDetector`),
    `page.candidates` gets the annotation boxes of that reading where no span is; they become
    spans only if `ConfirmCandidates` confirms them after the page OCR.
    """

    name = "detect_handwriting"

    def __init__(self, detector: BoxDetector, *, candidate_scale: float | None = None) -> None:
        self._detector = detector
        self._candidate_scale = candidate_scale
        # Only a detector that can read the page again proposes candidates.
        self._second_look = detector if isinstance(detector, CandidateDetector) else None

    def describe(self) -> str:
        return f"{self.name}: {self._detector.name} {self._detector.version}"

    def __call__(self, page: Page) -> Page:
        if page.image is None:
            raise ProcessingError("the page has no image to detect on", processor=self.name, page=page.number)
        if min(page.width, page.height) < MIN_PAGE_SIDE_PX:
            log.debug("page %d is %dx%d px: too small for handwriting", page.number, page.width, page.height)
            page.engines["detector"] = f"{self._detector.name} {self._detector.version}"
            return page
        if isinstance(self._detector, MappingDetector):
            detections, page.handwriting_map = self._detector.detect_with_map(page.image)
        else:
            detections = self._detector.detect(page.image)
        page.spans = _as_spans(page, detections, "h")
        if self._second_look is not None and self._candidate_scale is not None:
            extra = self._second_look.candidates(page.image, detections, scale=self._candidate_scale)
            page.candidates = _as_spans(page, extra, "c")
        page.engines["detector"] = f"{self._detector.name} {self._detector.version}"
        return page


def _as_spans(page: Page, detections: list[Detection], prefix: str) -> list[Span]:
    """One span per detection, in reading order (top to bottom, then left to right), which makes
    span ids (`p1-h0`, `p1-c0`) stable and readable."""
    detections = sorted(detections, key=lambda detection: (detection.box.y0, detection.box.x0))
    return [
        Span(
            id=f"p{page.number}-{prefix}{index}",
            kind=detection.kind,
            box=detection.box.clipped(page.width, page.height),
            detection_score=float(detection.score),
        )
        for index, detection in enumerate(detections)
    ]
