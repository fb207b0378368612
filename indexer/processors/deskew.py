"""DeskewPages: a scan fed in at a slant is turned straight before anything reads it.

Every later step assumes horizontal lines: the detector's boxes are upright rectangles, labels
are found on a box's rows, the reader cuts a box into line bands. Turned 1.5 degrees, the
contracts-dev pages' end-to-end CER goes from 0.238 to 0.357 (docs/evaluation.md). The slant is
measured by the projection profile, the classic way: the angle at which the ink per row varies
most (text lines and rules fall into the fewest rows). It is searched coarsely on a
quarter-size page, then finely at half size.

The straightened image is the page from here on: boxes, words and the artifact image are all
in its pixels, and `page.skew_degrees` says how far it was turned (the searchable PDF turns its
text layer back onto the original scan by that angle).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
#: A slant is taken only when its profile beats the level page's by this factor. Level scans
#: of contracts-dev reach at most 1.03 at their best angle; turned 0.8 degrees, they reach 1.07
#: and more (docs/experiments/2026-12-04-form-fields.md, eleventh session).
_MIN_GAIN = 1.05
#: A page with a side shorter than this (pixels) has too few rows to measure; it is left alone.
_MIN_SIDE_PX = 200


@dataclass(frozen=True)
class _Ink:
    """The page's ink pixels at one scale: (x, y) about the page's centre, and the number of rows
    any turn of the page spans (its diagonal), over which the profile is taken."""

    points: np.ndarray
    rows: int


def _ink(grey: np.ndarray, scale: float) -> _Ink:
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ys, xs = np.nonzero(ink)
    height, width = ink.shape
    # Whole-pixel centre: a half-pixel offset would round pairs of level rows into one.
    points = np.stack([xs - width // 2, ys - height // 2]).astype(np.float32)
    return _Ink(points, int(np.ceil(np.hypot(height, width))) + 2)


def _sharpness(ink: _Ink, degrees: float) -> float:
    """The variance of the ink per row once the page is turned `degrees` counter-clockwise.

    The ink pixels' rows are computed directly (no image is turned), so no ink leaves the frame
    at the corners (which would make every turn look sharper) and nothing is interpolated (which
    would blur turned rows and favour 0)."""
    radians = np.deg2rad(degrees)
    rows = np.rint(-np.sin(radians) * ink.points[0] + np.cos(radians) * ink.points[1]).astype(np.int64)
    return float(np.var(np.bincount(rows + ink.rows // 2, minlength=ink.rows)))


def estimate_skew(image: np.ndarray, *, max_degrees: float) -> float:
    """The angle (degrees, counter-clockwise) that turns the page's lines horizontal.

    Searched within +-`max_degrees`; a page with no ink at all, too small to measure, or whose
    ink lines up no better at any angle (specks) gives 0.
    """
    if min(image.shape[:2]) < _MIN_SIDE_PX:
        return 0.0
    grey = to_grey(image)
    coarse = _ink(grey, _COARSE_SCALE)
    if coarse.points.shape[1] == 0:
        return 0.0
    steps = np.arange(-max_degrees, max_degrees + 1e-9, _COARSE_STEP)
    best = max(steps, key=lambda degrees: _sharpness(coarse, float(degrees)))
    fine = _ink(grey, _FINE_SCALE)
    around = np.arange(best - _FINE_REACH, best + _FINE_REACH + 1e-9, _FINE_STEP)
    scores = {round(float(degrees), 2): _sharpness(fine, float(degrees)) for degrees in around}
    angle = max(scores, key=scores.__getitem__)
    # Specks, a flat page: no angle lines the ink up much better than level, and the best of
    # equals would be a guess.
    if scores[angle] < _MIN_GAIN * _sharpness(fine, 0.0):
        return 0.0
    return angle


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
