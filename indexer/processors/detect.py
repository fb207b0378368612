"""DetectHandwriting: find handwriting boxes on the page and create one span per box."""

from __future__ import annotations

import dataclasses
import logging

from indexer.backends.base import BoxDetector, CandidateDetector, Detection, MappingDetector
from indexer.document import Box, HandwritingKind, Page, Span
from indexer.errors import ProcessingError
from indexer.processors.fields.find import SURE_SIGNATURE_SCORE

__all__ = ["MIN_PAGE_SIDE_PX", "SAME_LINE_SHARE", "DetectHandwriting"]

log = logging.getLogger(__name__)

#: Two overlapping boxes share at least this share of the lower one's rows when they are on one
#: line of writing; less is the edge of a box on the line above or below.
SAME_LINE_SHARE = 0.5
#: A page narrower or lower than this holds no handwriting a detector could find (a 1-pixel
#: image is a valid file, not an error): it gets no boxes instead of a detector failure.
MIN_PAGE_SIDE_PX = 32


class DetectHandwriting:
    """Fills `page.spans` (kind, box, detection score) from a `BoxDetector`, and
    `page.handwriting_map` when the detector gives its probabilities.

    With `candidate_scale` and a detector that can read the page again (`CandidateDetector`),
    `page.candidates` gets the annotation boxes of that reading that meet no found box on their
    line (a found box above or below may overlap their edge); they become spans only if
    `ConfirmCandidates` confirms them after the page OCR. With `relabel_iou` too, a signature box
    the detector is unsure of (score under `SURE_SIGNATURE_SCORE`) that an annotation box of that
    reading overlaps at least that much is an annotation.
    """

    name = "detect_handwriting"

    def __init__(
        self,
        detector: BoxDetector,
        *,
        candidate_scale: float | None = None,
        relabel_iou: float | None = None,
    ) -> None:
        self._detector = detector
        self._candidate_scale = candidate_scale
        self._relabel_iou = relabel_iou
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
        if self._second_look is not None and self._candidate_scale is not None:
            larger = [
                detection
                for detection in self._second_look.second_look(page.image, scale=self._candidate_scale)
                if detection.kind is HandwritingKind.ANNOTATION
            ]
            extra = [
                detection
                for detection in larger
                if not any(_same_line(detection.box, other.box) for other in detections)
            ]
            page.candidates = _as_spans(page, extra, "c")
            if self._relabel_iou is not None:
                detections = [self._second_opinion(page, detection, larger) for detection in detections]
        page.spans = _as_spans(page, detections, "h")
        page.engines["detector"] = f"{self._detector.name} {self._detector.version}"
        return page

    def _second_opinion(self, page: Page, detection: Detection, larger: list[Detection]) -> Detection:
        """`detection` as an annotation when it is an unsure signature that the larger reading
        boxes as an annotation: read larger, the net tells a line of text from a signature's
        scribble better (an amount flourished over by initials), and below this score the
        detector's own verdict is weak (a sure signature keeps its kind)."""
        assert self._relabel_iou is not None
        if detection.kind is not HandwritingKind.SIGNATURE or detection.score >= SURE_SIGNATURE_SCORE:
            return detection
        if not any(detection.box.iou(other.box) >= self._relabel_iou for other in larger):
            return detection
        log.debug(
            "page %d: the signature box %s (%.2f) is an annotation read larger",
            page.number,
            detection.box,
            detection.score,
        )
        return dataclasses.replace(detection, kind=HandwritingKind.ANNOTATION)


def _same_line(box: Box, other: Box) -> bool:
    """Whether two boxes meet on a line: they overlap, and by at least `SAME_LINE_SHARE` of the
    lower one's height. A box of the second look that meets found boxes only above or below it
    holds a line of writing between or beside them (a party's name between two boxed lines)."""
    if box.intersection(other) == 0:
        return False
    return box.shared_rows(other) >= SAME_LINE_SHARE * min(box.height, other.height)


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
