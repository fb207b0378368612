"""DetectHandwriting: find handwriting boxes on the page and create one span per box."""

from __future__ import annotations

import logging

from indexer.backends.base import BoxDetector, CandidateDetector, MappingDetector
from indexer.document import HandwritingKind, Page, Span
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
        self._candidate_scale = candidate_scale if isinstance(detector, CandidateDetector) else None

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
        # Reading order (top to bottom, then left to right) makes span ids stable and readable.
        detections.sort(key=lambda detection: (detection.box.y0, detection.box.x0))
        page.spans = [
            Span(
                id=f"p{page.number}-h{index}",
                kind=detection.kind,
                box=detection.box.clipped(page.width, page.height),
                detection_score=float(detection.score),
            )
            for index, detection in enumerate(detections)
        ]
        if self._candidate_scale is not None:
            extra = self._detector.candidates(page.image, detections, scale=self._candidate_scale)  # type: ignore[attr-defined]
            extra.sort(key=lambda detection: (detection.box.y0, detection.box.x0))
            page.candidates = [
                Span(
                    id=f"p{page.number}-c{index}",
                    kind=HandwritingKind.ANNOTATION,
                    box=detection.box.clipped(page.width, page.height),
                    detection_score=float(detection.score),
                )
                for index, detection in enumerate(extra)
            ]
        page.engines["detector"] = f"{self._detector.name} {self._detector.version}"
        return page
