"""DeskewPages: a scan fed in at a slant is turned straight before anything reads it.

Every later step assumes horizontal lines: the detector's boxes are upright rectangles, labels
are found on a box's rows, the reader cuts a box into line bands. Turned 1.5 degrees, the
contracts-dev pages lose a third more characters end to end (docs/evaluation.md). The slant is
measured by the projection profile, the classic way: the angle at which the ink per row varies
most (text lines and rules fall into the fewest rows). It is searched coarsely on a
quarter-size page, then finely at half size.

The straightened image is the page from here on: boxes, words and the artifact image are all
in its pixels, and `page.skew_degrees` says how far it was turned (the searchable PDF turns its
text layer back onto the original scan by that angle).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from indexer.backends.htr.crops import to_grey
from indexer.config import DeskewSettings
from indexer.document import Box, Page

__all__ = ["DeskewPages", "estimate_skew", "rotated", "turned_box"]

log = logging.getLogger(__name__)

#: The coarse search: a quarter-size page, in steps this wide (degrees).
_COARSE_SCALE = 0.25
_COARSE_STEP = 0.25
#: The fine search: a half-size page, around the coarse best, in steps this wide.
_FINE_SCALE = 0.5
_FINE_STEP = 0.05
_FINE_REACH = 0.3
#: A page with a side shorter than this (pixels) has too few rows to measure; it is left alone.
_MIN_SIDE_PX = 200


def _ink(grey: np.ndarray, scale: float) -> np.ndarray:
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return ink.astype(np.float32)


def _sharpness(ink: np.ndarray, degrees: float) -> float:
    height, width = ink.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    # Nearest neighbour: interpolation blurs a turned page's rows and would favour 0 degrees.
    turned = cv2.warpAffine(ink, matrix, (width, height), flags=cv2.INTER_NEAREST, borderValue=0)
    return float(np.var(turned.sum(axis=1)))


def estimate_skew(image: np.ndarray, *, max_degrees: float) -> float:
    """The angle (degrees, counter-clockwise) that turns the page's lines horizontal.

    Searched within +-`max_degrees`; a page with no ink at all, or too small to measure, gives 0.
    """
    if min(image.shape[:2]) < _MIN_SIDE_PX:
        return 0.0
    grey = to_grey(image)
    coarse = _ink(grey, _COARSE_SCALE)
    if not coarse.any():
        return 0.0
    steps = np.arange(-max_degrees, max_degrees + 1e-9, _COARSE_STEP)
    best = max(steps, key=lambda degrees: _sharpness(coarse, float(degrees)))
    fine = _ink(grey, _FINE_SCALE)
    around = np.arange(best - _FINE_REACH, best + _FINE_REACH + 1e-9, _FINE_STEP)
    return round(float(max(around, key=lambda degrees: _sharpness(fine, float(degrees)))), 2)


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """The image turned `degrees` counter-clockwise about its centre, same size; the corners
    uncovered are filled with the nearest edge pixels (paper, on a scan)."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


class DeskewPages:
    """Turns each page image straight when it is off by at least `min_degrees` (sets
    `page.image` and `page.skew_degrees`); a slant beyond `max_degrees` is not looked for."""

    name = "deskew_pages"

    def __init__(self, settings: DeskewSettings) -> None:
        self._settings = settings

    def describe(self) -> str:
        return (
            f"{self.name}: pages off by {self._settings.min_degrees}-{self._settings.max_degrees} "
            "degrees turned straight (projection profile, OpenCV)"
        )

    def __call__(self, page: Page) -> Page:
        if page.image is None:
            return page
        degrees = estimate_skew(page.image, max_degrees=self._settings.max_degrees)
        if abs(degrees) < self._settings.min_degrees:
            return page
        log.info("page %d: scanned %.2f degrees off; turned straight", page.number, -degrees)
        page.image = rotated(page.image, degrees)
        page.skew_degrees = degrees
        return page


def turned_box(box: Box, degrees: float, width: int, height: int) -> Box:
    """Where `box` of a `width` x `height` page lies once the page is turned `degrees`
    counter-clockwise about its centre, as `rotated` turns it: its centre moves, its size stays
    (at a few degrees an upright box of the turned page holds the same writing), and it is cut
    to the page."""
    if degrees == 0:
        return box
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    x, y = box.center
    cx, cy = matrix @ np.array([x, y, 1.0])
    half_w, half_h = box.width / 2, box.height / 2
    # A box at the page's edge may turn past it; what stays is the part on the page.
    x0, y0 = max(0, round(cx - half_w)), max(0, round(cy - half_h))
    return Box(x0, y0, max(round(cx + half_w), x0 + 1), max(round(cy + half_h), y0 + 1)).clipped(
        width, height
    )
