from __future__ import annotations

import numpy as np

from indexer.backends.base import Detection
from indexer.document import Page
from indexer.processors.detect import MIN_PAGE_SIDE_PX, DetectHandwriting


class _RefusesTinyPages:
    """Behaves as the shipped detector does on a page under 2x2 pixels: it refuses it."""

    name = "strict"
    version = "1"

    def detect(self, image: np.ndarray) -> list[Detection]:
        raise AssertionError(f"asked to detect on a {image.shape} page")


def test_a_page_too_small_for_handwriting_gets_no_boxes_instead_of_an_error() -> None:
    """GIVEN a valid 1x1 image (a blank placeholder page) WHEN detecting THEN no boxes, no failure."""
    page = Page(number=1, dpi=200, width=1, height=1, image=np.full((1, 1, 3), 255, dtype=np.uint8))

    result = DetectHandwriting(_RefusesTinyPages())(page)

    assert result.spans == [] and result.engines["detector"] == "strict 1"
    assert MIN_PAGE_SIDE_PX > 1
