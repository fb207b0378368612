"""FindRules: the printed rule each handwriting box is written on (a form blank), if any.

A form's blank is a printed rule with its caption under it (`(Title)`, `[print name]`) and the
writing on it. Which rule a box sits on says how far its writing may run (`extend_boxes` walks
along it) and which caption is its own (`find_labels`). The rule is found once, from the page
image, and kept on the span (`Span.rule`), so steps that run again without the image (reindex
from artifacts, a correction) see the same blanks.
"""

from __future__ import annotations

import logging

import numpy as np

from indexer.backends.htr.crops import to_grey
from indexer.document import Box, Page, Word

__all__ = ["FindRules", "blank_rule", "carries", "dark_pixels"]

log = logging.getLogger(__name__)

#: A blank's rule is a dark run at least this long (0.5 in); it is looked for from half the box's
#: height above its bottom edge to this share of its height below it.
_RULE_MIN_INCHES = 0.5
_RULE_BELOW_HEIGHTS = 0.4
#: Scanned rules are often mid-grey (128-160 on contracts-dev), lighter than the print's strokes.
_DARK = 170
#: Breaks in a scanned rule that are closed before its length is measured (rows, columns).
_RULE_BREAK_PX = (3, 5)
#: A word is on the rule when its bottom is within this share of its height above the rule's top
#: (a caption high in the next cell is not), or this many pixels below it (descenders and strokes
#: crossing it).
_ON_RULE_HEIGHTS = 0.35
_UNDER_RULE_PX = 8


def dark_pixels(image: np.ndarray) -> np.ndarray:
    """Where an RGB image (or a slice of one) is dark enough to be a printed rule: uint8, 1 or 0."""
    return (to_grey(np.ascontiguousarray(image)) < _DARK).astype(np.uint8)


def blank_rule(image: np.ndarray, box: Box, dpi: int) -> Box | None:
    """The printed rule the box's writing sits on: the lowest dark run, 0.5 in or longer, near the
    box's bottom edge that runs under half the box's width or more; None when there is none."""
    import cv2

    top = max(box.y1 - box.height // 2, 0)
    bottom = min(box.y1 + round(_RULE_BELOW_HEIGHTS * box.height), image.shape[0])
    if bottom <= top:
        return None
    # A scanned rule is often broken into dashes a few pixels apart and a row up or down.
    dark = cv2.morphologyEx(
        dark_pixels(image[top:bottom]), cv2.MORPH_CLOSE, np.ones(_RULE_BREAK_PX, np.uint8)
    )
    length = max(round(_RULE_MIN_INCHES * dpi), 8)
    runs = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    found: Box | None = None
    for label in range(1, count):
        left, row, run, rows = (int(value) for value in stats[label][:4])
        under = min(box.x1, left + run) - max(box.x0, left)
        if under >= 0.5 * box.width and (found is None or row + top > found.y0):
            found = Box(left, row + top, left + run, row + top + rows)
    return found


def carries(rule: Box, word: Word) -> bool:
    """Whether the word is written on the rule: half its width or more over it, its bottom on it."""
    over = min(word.box.x1, rule.x1) - max(word.box.x0, rule.x0)
    bottom = word.box.y1
    return (
        over >= 0.5 * word.box.width
        and rule.y0 - _ON_RULE_HEIGHTS * word.box.height <= bottom <= rule.y0 + _UNDER_RULE_PX
    )


class FindRules:
    """Fills each span's `rule` from the page image (spans with no rule under them get None)."""

    name = "find_rules"

    def describe(self) -> str:
        return f"{self.name}: the printed rule (0.5 in or longer) under each handwriting box"

    def __call__(self, page: Page) -> Page:
        if page.image is None:
            return page
        for span in page.spans:
            span.rule = blank_rule(page.image, span.box, page.dpi)
        log.debug(
            "page %d: %d of %d boxes on a rule",
            page.number,
            sum(s.rule is not None for s in page.spans),
            len(page.spans),
        )
        return page
