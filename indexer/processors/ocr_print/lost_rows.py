"""Re-read the rows of handwriting boxes where the page OCR read nothing at all.

Tesseract's layout analysis sometimes drops a whole ruled line such as
`WITNESS: ____ 81408 ____ Date: 89678 (seal)`: no word of it comes back in any of the layout
modes (3, 4, 6, even 7 on the line alone), while sparse-text mode (11) reads every word. So when
a box holds no OCR word, not even a misread token, the full-width row across it is read again as
sparse text, and the words not already read are added to the page as lines of their own, in
reading order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from indexer.backends.base import SparseTextReader
from indexer.document import Box, Span, Word

__all__ = ["reread_lost_rows", "unread_spans"]

log = logging.getLogger(__name__)

_ROW_MARGIN_PX = 8  # above and below the box: the printed line's ascenders and underscores
_DUPLICATE_SHARE = 0.3  # of the smaller box: a re-read word this much over a read one is that word
_SAME_LINE_SHARE = 0.5  # of the median word height: centres closer than this share a line


def unread_spans(words: Sequence[Word], spans: Sequence[Span]) -> list[Span]:
    """Spans whose blanked box holds no OCR word at all (a misread token still counts as read)."""
    return [
        span
        for span in spans
        if span.anchor and not any((span.anchor_box or span.box).holds_centre_of(word.box) for word in words)
    ]


def _rows(spans: Sequence[Span], *, width: int, height: int) -> list[Box]:
    """Full-width strips over the spans' boxes; strips that overlap are merged into one."""
    extents = sorted(
        (
            max((span.anchor_box or span.box).y0 - _ROW_MARGIN_PX, 0),
            min((span.anchor_box or span.box).y1 + _ROW_MARGIN_PX, height),
        )
        for span in spans
    )
    merged: list[list[int]] = []
    for top, bottom in extents:
        if merged and top <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], bottom)
        else:
            merged.append([top, bottom])
    return [Box(0, top, width, bottom) for top, bottom in merged]


def _is_duplicate(word: Box, read: Sequence[Word]) -> bool:
    return any(
        word.intersection(other.box) >= _DUPLICATE_SHARE * max(min(word.area, other.box.area), 1)
        for other in read
    )


def _group_lines(words: list[Word]) -> list[list[Word]]:
    """Scattered words grouped into lines by their vertical centres, each line left to right."""
    if not words:
        return []
    tolerance = _SAME_LINE_SHARE * float(np.median([word.box.height for word in words]))
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: w.box.center[1]):
        if lines and abs(word.box.center[1] - lines[-1][-1].box.center[1]) <= tolerance:
            lines[-1].append(word)
        else:
            lines.append([word])
    return [sorted(line, key=lambda w: w.box.x0) for line in lines]


def _insert_line(words: list[Word], line: list[Word]) -> None:
    """Insert a line before the first word that starts below its middle (reading order)."""
    middle = sum(word.box.center[1] for word in line) / len(line)
    index = next((i for i, word in enumerate(words) if word.box.y0 > middle), len(words))
    words[index:index] = line


def reread_lost_rows(
    reader: SparseTextReader, image: np.ndarray, words: list[Word], spans: Sequence[Span], *, dpi: int
) -> list[Word]:
    """`words` plus what a sparse re-read finds in the rows of boxes where nothing was read.

    Each re-read line becomes a block of its own (numbered after the page's blocks), so the
    merge treats it like any other OCR line.
    """
    lost = unread_spans(words, spans)
    if not lost:
        return words
    height, width = image.shape[:2]
    rows = _rows(lost, width=width, height=height)
    found: list[Word] = []
    for row in rows:
        for word in reader.read_sparse(image[row.y0 : row.y1], dpi=dpi):
            box = Box(word.box.x0, word.box.y0 + row.y0, word.box.x1, word.box.y1 + row.y0)
            if not _is_duplicate(box, words) and not _is_duplicate(box, found):
                found.append(Word(word.text, box, word.confidence))
    result = list(words)
    next_block = max((word.block for word in words), default=0) + 1
    for offset, line in enumerate(_group_lines(found)):
        block = next_block + offset
        _insert_line(result, [Word(w.text, w.box, w.confidence, block=block, line=1) for w in line])
    log.info(
        "re-read %d rows with nothing read in %d boxes: %d words added",
        len(rows),
        len(lost),
        len(found),
    )
    return result
