"""ExtendBoxes: an annotation box that stops short of its writing takes in the rest of its line.

The detector often boxes only part of a long handwritten line (`20101 Hamilt` of `20101 Hamilton
Avenue`, the middle of `Chase Hamilton, LLC, a California limited liability company`). The rest
is not masked, so the page OCR reads it as words beside the box, and it never reaches the span.
Runs after the page OCR: the words on the box's line next to it, one after another outward,
join the box while the detector's own probability map calls them handwriting (a lower bar than
the one its boxes need) and they are not labels; a word that only looks like one (`Harnilk:`, the
OCR's reading of `Hamilton`) joins when the map surely calls it handwriting. They leave the
page's words (they are the span's now), and the handwriting reader reads the grown box.

The map is weakest on neat block capitals (`liability company` at 0.02), so a second bar is the
form itself: when the box sits on a printed rule (a blank, found by `find_rules`), a word written
on the same rule joins whatever the map says, unless it is a label, a cell border the OCR read as
a letter, or small print (a table's line of text that runs along a border).

The map also runs high over print that touches writing, so neither walk takes a word of a
bracketed caption (`(Print Name and Official title)`): a word that closes a bracket, or one with
a bracket opened further out on its line and not closed before it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from indexer.config import ExtendSettings
from indexer.document import Box, HandwritingMap, Page, Word
from indexer.processors.anchor import TOKEN_PATTERN
from indexer.processors.fields.labels import CLOSING_BRACKETS, OPENING_BRACKETS, label_word_type, on_line_of
from indexer.processors.rules import carries, dark_pixels
from indexer.processors.trim import CAPTION_WORDS, WORD_EDGES

__all__ = ["ExtendBoxes", "extended"]

log = logging.getLogger(__name__)

#: A word may start this many box heights inside the box (boxes and words overlap a little).
OVERLAP_HEIGHTS = 0.3
#: A word this share of which lies in a masked box belongs to that box (token or noise).
MASKED_SHARE = 0.3
#: How many words further out a caption's opening bracket is looked for, and the widest gap
#: between two words of one caption, in the words' heights (a caption is one run of print).
_CAPTION_REACH_WORDS = 8
_CAPTION_GAP_HEIGHTS = 1.5
#: A word at most half as wide as tall with a column of ink over 90% of its height is a cell
#: border the OCR read as a letter (`P`, `|`): the blank ends there.
_BORDER_ASPECT = 0.5
_BORDER_INK_SHARE = 0.9


def _is_border(image: np.ndarray, word: Word) -> bool:
    box = word.box
    if box.width > _BORDER_ASPECT * box.height or box.width <= 0 or box.height <= 0:
        return False
    dark = dark_pixels(image[box.y0 : box.y1, box.x0 : box.x1])
    return bool((dark.mean(axis=0) >= _BORDER_INK_SHARE).any())


def _is_label(text: str) -> bool:
    # `Date:`, `(Signature)`, a bare `DATE` or `BY` beside a box is its label or caption, never
    # its writing (such words are rarely written by hand inside a field).
    bare = text.strip(WORD_EDGES + "_").lower()
    return (
        text.rstrip("_").endswith(":")
        or _opens_bracket(text)
        or _ends_caption(text)
        or bare in CAPTION_WORDS
        or bare == "by"
    )


def _opens_bracket(text: str) -> bool:
    return text.startswith(OPENING_BRACKETS)


def _closes_bracket(text: str) -> bool:
    return text.rstrip(".,;:_").endswith(CLOSING_BRACKETS)


def _starts_caption(text: str) -> bool:
    # `(Print`; `(1)` opens and closes, so it leaves nothing open.
    return _opens_bracket(text) and not _closes_bracket(text)


def _ends_caption(text: str) -> bool:
    # `title)`; the OCR also ends a scrawl with a bracket (`17]`), which holds no word.
    return _closes_bracket(text) and not _opens_bracket(text) and sum(char.isalpha() for char in text) >= 2


def _inside_caption(word: Word, line: Sequence[Word], step: int) -> bool:
    """Whether `word` is inside a bracketed caption that goes on past it, away from the box
    (`and`, `Official` of `(Print Name and Official title)` when the box took in `title)`).

    Walking right (`step` 1), a bracket closes further right and none opens before it; walking
    left, one opens further left and none closes before it. The words between are one run: no
    anchor token and no gap wider than `_CAPTION_GAP_HEIGHTS` word heights.
    """
    if step > 0:
        outward = sorted((w for w in line if w.box.x0 >= word.box.x1), key=lambda w: w.box.x0)
        encloses, leaves = _ends_caption, _opens_bracket
    else:
        outward = sorted((w for w in line if w.box.x1 <= word.box.x0), key=lambda w: -w.box.x1)
        encloses, leaves = _starts_caption, _closes_bracket
    previous = word
    for other in outward[:_CAPTION_REACH_WORDS]:
        gap = other.box.x0 - previous.box.x1 if step > 0 else previous.box.x0 - other.box.x1
        if gap > _CAPTION_GAP_HEIGHTS * previous.box.height or TOKEN_PATTERN.search(other.text):
            return False
        if leaves(other.text):
            return False
        if encloses(other.text):
            return True
        previous = other
    return False


def _is_misread_writing(text: str) -> bool:
    # The page OCR often ends a handwritten word with a colon (`Harnilk:` for `Hamilton`); a word
    # that names no field type is such a misreading when the map surely calls it handwriting.
    return text.rstrip("_").endswith(":") and label_word_type(text) is None and not _opens_bracket(text)


def _next_word(
    words: Sequence[Word], free: Sequence[int], box: Box, height: int, step: int
) -> tuple[int, int] | None:
    """The gap to the free word nearest to `box` on its line, right (`step` 1) or left (-1), and
    that word's index."""
    nearest: tuple[int, int] | None = None
    for index in free:
        word = words[index]
        if not on_line_of(word, box):
            continue
        gap = word.box.x0 - box.x1 if step > 0 else box.x0 - word.box.x1
        if -OVERLAP_HEIGHTS * height <= gap and (nearest is None or gap < nearest[0]):
            nearest = (gap, index)
    return nearest


def _joins_on_rule(
    word: Word, gap: int, box: Box, rule: Box, image: np.ndarray, settings: ExtendSettings
) -> bool:
    """Whether a word beside the box joins it as more writing on the box's blank."""
    if settings.rule_max_gap_heights is None or gap > settings.rule_max_gap_heights * box.height:
        return False
    if word.box.height < settings.rule_min_height_share * box.height or not carries(rule, word):
        return False
    if _is_label(word.text) and not (
        _is_misread_writing(word.text) and word.confidence < settings.rule_misread_confidence
    ):
        return False
    return not _is_border(image, word)


def extended(
    box: Box,
    words: Sequence[Word],
    free: list[int],
    handwriting: HandwritingMap | None,
    settings: ExtendSettings,
    *,
    rule: Box | None = None,
    image: np.ndarray | None = None,
) -> tuple[Box, list[int]]:
    """`box` grown over the handwritten words beside it, and those words' indices (taken out of
    `free`).

    Each side is walked outward word by word. A word joins when the map (if the detector gave
    one) calls it handwriting (within `max_gap_heights` box heights, not a label), or when it is
    written on the printed `rule` under the box (`find_rules`; `image` given, see
    `_joins_on_rule`). The walk stops at the first word that does neither, or that is inside a
    bracketed caption (`_inside_caption`).
    """
    height = box.height
    line = [word for word in words if on_line_of(word, box)]
    taken: list[int] = []
    for step in (1, -1):
        while (nearest := _next_word(words, free, box, height, step)) is not None:
            gap, index = nearest
            word = words[index]
            if _inside_caption(word, line, step) or not (
                _joins_by_map(word, gap, height, handwriting, settings)
                or (
                    rule is not None
                    and image is not None
                    and _joins_on_rule(word, gap, box, rule, image, settings)
                )
            ):
                break
            free.remove(index)
            taken.append(index)
            # Sideways only: a neighbour's ascenders or a caption it touches are no reason to
            # take in the lines above or below.
            box = Box(min(box.x0, word.box.x0), box.y0, max(box.x1, word.box.x1), box.y1)
    return box, taken


def _joins_by_map(
    word: Word, gap: int, height: int, handwriting: HandwritingMap | None, settings: ExtendSettings
) -> bool:
    """Whether a word beside the box joins it because the detector's map calls it handwriting."""
    if handwriting is None:
        return False
    probability = handwriting.mean(word.box)
    if gap > settings.max_gap_heights * height or probability < settings.min_probability:
        return False
    return not _is_label(word.text) or (
        _is_misread_writing(word.text) and probability >= settings.misread_label_probability
    )


class ExtendBoxes:
    """Grows annotation spans' boxes (`span.box`) over the rest of their handwritten line and
    takes those words out of `page.words`. Without the detector's map (TFOD) only the rule walk
    runs."""

    name = "extend_boxes"

    def __init__(self, settings: ExtendSettings) -> None:
        self._settings = settings

    def describe(self) -> str:
        return (
            f"{self.name}: annotation boxes grown over words beside them that the detector's map "
            f"calls handwriting (>= {self._settings.min_probability}) or that are written on the "
            "box's printed rule"
        )

    def __call__(self, page: Page) -> Page:
        if not page.spans:
            return page
        masked = [span.anchor_box or span.box for span in page.spans]
        free = [
            index
            for index, word in enumerate(page.words)
            if not TOKEN_PATTERN.search(word.text)
            and not any(word.box.intersection(area) > MASKED_SHARE * word.box.area for area in masked)
        ]
        taken: set[int] = set()
        for span in page.spans:
            if span.is_signature:
                continue
            box, words = extended(
                span.box,
                page.words,
                free,
                page.handwriting_map,
                self._settings,
                rule=span.rule,
                image=page.image,
            )
            if words:
                log.debug(
                    "page %d: span %s grown %s -> %s over %r",
                    page.number,
                    span.id,
                    span.box,
                    box,
                    " ".join(page.words[index].text for index in sorted(words)),
                )
                span.box = box
                taken.update(words)
        if taken:
            page.words = [word for index, word in enumerate(page.words) if index not in taken]
        return page
