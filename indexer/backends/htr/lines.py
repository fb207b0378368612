"""Cut a handwriting crop into its text lines before a line recognizer reads it.

Boxes around handwriting often hold two or three written lines (an address, a name over a
title) and slices of the printed lines above and below. `htr` and TrOCR read one line: fed
the whole crop, they squeeze every line into one and read nonsense. `LineSplitter` finds the
bands of rows that hold ink, keeps the handwritten ones and trims the blank paper around
them; `LineSplittingRecognizer` reads the bands in one batch and joins them top to bottom.

How a band is judged printed (the crop's main band, the tallest, is always kept):
- it touches the crop's top or bottom edge: the box cut through a neighbouring printed line;
- it is much shorter than the main band: printed captions such as "(Address)" are smaller
  than the writing they label;
- Tesseract reads it with a high confidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass

import cv2
import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition, takes_type_hints
from indexer.backends.htr.crops import is_blank_crop, to_grey
from indexer.backends.htr.grammar import FieldType
from indexer.errors import DependencyError

__all__ = ["LineSplitOptions", "LineSplitter", "LineSplittingRecognizer", "default_splitter", "find_bands"]

log = logging.getLogger(__name__)

#: Connected ink components smaller than this many pixels are scan specks.
_MIN_SPECK_PX = 6
#: The printed-text check reads at most this many band heights of the band, from its first ink.
_PRINTED_SAMPLE_HEIGHTS = 12
#: Rows averaged when smoothing the ink profile, so one thin row does not split a line.
_SMOOTHING_ROWS = 3


@dataclass(frozen=True)
class LineSplitOptions:
    """Thresholds of the splitter, as shares of the crop's own measures (any resolution)."""

    #: Rows with less ink than this share of the fullest row separate two bands.
    valley_share: float = 0.12
    #: A band shorter than this share of the tallest is a dot, an accent or a descender and joins
    #: the band next to it.
    fragment_share: float = 0.35
    #: A second line shorter than this share of the main band is a printed caption.
    min_line_share: float = 0.45
    #: A second line Tesseract reads at least this confident is printed.
    printed_confidence: float = 0.7
    #: Rows of paper kept above and below each band.
    margin_px: int = 4
    #: Lines wider than this many times their height are cut at the widest gap between inked
    #: columns in their middle half (again until none is wider), so a recognizer with a maximum
    #: input width reads pieces at their own scale instead of one squeezed line. None: no cut.
    max_line_aspect: float | None = None


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """Dark pixels (Otsu) without form rules and specks: a (height, width) bool array."""
    height, width = grey.shape
    _, thresholded = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    ink = np.asarray(thresholded, np.uint8)
    # Underlines and box borders would join every line into one band.
    rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, max(20, width // 4)), np.uint8))
    borders = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((max(20, int(height * 0.7)), 1), np.uint8))
    writing = ((ink > 0) & (np.asarray(rules) == 0) & (np.asarray(borders) == 0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(writing, connectivity=8)
    kept = np.flatnonzero(stats[1:count, cv2.CC_STAT_AREA] >= _MIN_SPECK_PX) + 1
    return np.isin(labels, kept)


def find_bands(grey: np.ndarray, options: LineSplitOptions | None = None) -> list[tuple[int, int]]:
    """Row ranges `(top, bottom)` (bottom exclusive) that hold a line of ink, top to bottom."""
    options = options or LineSplitOptions()
    profile = ink_mask(grey).sum(axis=1).astype(np.float64)
    profile = np.convolve(profile, np.ones(_SMOOTHING_ROWS) / _SMOOTHING_ROWS, mode="same")
    if profile.max() <= 0:
        return []
    inked = profile > options.valley_share * profile.max()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.astype(np.int8), [0]))))
    runs = [[int(top), int(bottom)] for top, bottom in zip(edges[::2], edges[1::2], strict=True)]
    tallest = max(bottom - top for top, bottom in runs)
    bands = [run for run in runs if run[1] - run[0] >= options.fragment_share * tallest]
    for run in runs:
        if run in bands:
            continue
        nearest = min(bands, key=lambda band: _gap(run, band))
        # A fragment far from every band is noise, not part of a line.
        if _gap(run, nearest) <= 0.5 * (nearest[1] - nearest[0]):
            nearest[0], nearest[1] = min(nearest[0], run[0]), max(nearest[1], run[1])
    return [(top, bottom) for top, bottom in bands]


def _widest_gap(columns: np.ndarray, start: int, stop: int) -> int:
    """The middle of the longest run of empty columns in [start, stop), else the emptiest column."""
    empty = np.concatenate(([0], (columns[start:stop] == 0).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(empty))
    if edges.size == 0:
        return start + int(np.argmin(columns[start:stop]))
    lengths = edges[1::2] - edges[::2]
    longest = int(np.argmax(lengths))  # the first of equally long gaps
    return start + int(edges[2 * longest] + edges[2 * longest + 1]) // 2


def _gap(a: Sequence[int], b: Sequence[int]) -> int:
    return max(a[0] - b[1], b[0] - a[1], 0)


class LineSplitter:
    """Cuts a crop into the bands of its handwritten lines.

    Args:
        options: thresholds; the defaults were set by looking at the contracts-dev crops, and no
            other value beat them end to end, cross-validated by document
            (docs/experiments/2026-12-04-form-fields.md).
        printed_reader: a recognizer of printed text (Tesseract) whose confidence tells printed
            bands apart; without it only the geometric rules apply.
    """

    def __init__(
        self,
        options: LineSplitOptions | None = None,
        *,
        printed_reader: HandwritingRecognizer | None = None,
    ) -> None:
        self.options = options or LineSplitOptions()
        self.printed_reader = printed_reader

    def __enter__(self) -> LineSplitter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the printed-text reader (Tesseract keeps its model loaded until then)."""
        if isinstance(self.printed_reader, AbstractContextManager):
            self.printed_reader.__exit__(None, None, None)

    def bands(self, crop: np.ndarray) -> list[tuple[int, int]]:
        """Row ranges of the handwritten lines, margins included; `[]` for a crop without ink."""
        if is_blank_crop(crop):
            return []
        grey = _grey(crop)
        found = find_bands(grey, self.options)
        if not found:
            return []
        height = grey.shape[0]
        main = max(found, key=lambda band: band[1] - band[0])
        kept = [band for band in found if band == main or self._is_handwritten(crop, band, main)]
        margin = self.options.margin_px
        return [(max(top - margin, 0), min(bottom + margin, height)) for top, bottom in kept]

    def split(self, crop: np.ndarray) -> list[np.ndarray]:
        """The crops of the handwritten lines, top to bottom; the crop itself when it has no ink."""
        bands = self.bands(crop)
        if not bands:
            return [crop]
        return [
            piece for top, bottom in bands for piece in self._pieces(self._inked_columns(crop[top:bottom]))
        ]

    def _inked_columns(self, line: np.ndarray) -> np.ndarray:
        """The line without the blank paper and bare rules left and right of its writing (a loose
        box along a form's blank shows the recognizer mostly rule, and it reads nothing)."""
        columns = np.flatnonzero(ink_mask(_grey(line)).any(axis=0))
        if columns.size == 0:
            return line
        margin = max(self.options.margin_px, line.shape[0] // 2)
        return line[:, max(int(columns[0]) - margin, 0) : int(columns[-1]) + 1 + margin]

    def _pieces(self, line: np.ndarray) -> list[np.ndarray]:
        height, width = line.shape[:2]
        limit = self.options.max_line_aspect
        if limit is None or width <= limit * height:
            return [line]
        cut = _widest_gap(ink_mask(_grey(line)).sum(axis=0), width // 4, 3 * width // 4)
        return self._pieces(line[:, :cut]) + self._pieces(line[:, cut:])

    def _is_handwritten(self, crop: np.ndarray, band: tuple[int, int], main: tuple[int, int]) -> bool:
        top, bottom = band
        if top <= 1 or bottom >= crop.shape[0] - 1:
            return False
        if bottom - top < self.options.min_line_share * (main[1] - main[0]):
            return False
        if self.printed_reader is None:
            return True
        margin = self.options.margin_px
        line = crop[max(top - margin, 0) : bottom + margin]
        # A stretch of the line from its first ink tells printed from written, at a fraction of the
        # time Tesseract takes on a whole line of a wide crop.
        inked = np.flatnonzero(ink_mask(_grey(line)).any(axis=0))
        start = int(inked[0]) if inked.size else 0
        sample = line[:, start : start + _PRINTED_SAMPLE_HEIGHTS * line.shape[0]]
        reading = self.printed_reader.recognize([sample])[0]
        printed = reading.confidence >= self.options.printed_confidence
        if printed:
            log.debug("dropped a printed line from a handwriting crop: %r", reading.text)
        return not printed


def default_splitter(options: LineSplitOptions | None = None) -> LineSplitter:
    """A splitter with Tesseract's printed-text check, or the geometric rules alone without Tesseract."""
    from indexer.backends.tesseract_crop import TesseractCropRecognizer

    try:
        return LineSplitter(options, printed_reader=TesseractCropRecognizer())
    except DependencyError as exc:
        log.warning("cutting crops into lines without a printed-text check: %s", exc)
        return LineSplitter(options)


class LineSplittingRecognizer:
    """Wraps a line recognizer: each crop is split into lines, read in one batch, and joined.

    The joined confidence is the mean of the lines' confidences weighted by their text length.
    """

    def __init__(self, inner: HandwritingRecognizer, splitter: LineSplitter) -> None:
        self.inner = inner
        self.splitter = splitter
        self.name = inner.name
        self.version = inner.version

    def __enter__(self) -> LineSplittingRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with ExitStack() as stack:
            stack.push(self.splitter)
            if isinstance(self.inner, AbstractContextManager):
                stack.push(self.inner)

    def recognize(
        self, crops: Sequence[np.ndarray], *, type_hints: Sequence[FieldType | None] | None = None
    ) -> list[Recognition]:
        """One `Recognition` per crop, in order; lines are read as one batch by the inner engine.

        Args:
            type_hints: per crop, the field type its label gives (a date, an amount, ...); each of
                the crop's lines is read with it when the inner engine takes hints (`ppocr` does).
        """
        lines: list[np.ndarray] = []
        owners: list[int] = []
        for index, crop in enumerate(crops):
            for line in self.splitter.split(crop):
                lines.append(line)
                owners.append(index)
        if not lines:
            readings: list[Recognition] = []
        elif type_hints is not None and takes_type_hints(self.inner):
            line_hints = [type_hints[owner] for owner in owners]
            readings = self.inner.recognize(lines, type_hints=line_hints)  # type: ignore[call-arg]
        else:
            readings = self.inner.recognize(lines)
        grouped: list[list[Recognition]] = [[] for _ in crops]
        for owner, reading in zip(owners, readings, strict=True):
            grouped[owner].append(reading)
        return [self._join(parts) for parts in grouped]

    def _join(self, parts: list[Recognition]) -> Recognition:
        read = [part for part in parts if part.text]
        if not read:
            return parts[0] if parts else Recognition("", 0.0, self.name)
        weights = [len(part.text) for part in read]
        confidence = sum(w * part.confidence for w, part in zip(weights, read, strict=True)) / sum(weights)
        return Recognition(" ".join(part.text for part in read), confidence, read[0].engine)


def _grey(crop: np.ndarray) -> np.ndarray:
    # Otsu thresholding needs 8-bit grey.
    return to_grey(np.asarray(crop).astype(np.uint8, copy=False))
