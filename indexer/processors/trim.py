"""TrimBoxes: cut printed words out of the edges of each handwriting box before it is masked.

A detector box often takes in the print beside the handwriting: its label (`For the Government:`,
`Date:`), a caption under a signature line (`(Signature)`). Masking blanks the whole box, so
those printed words vanish from the page text (and with them the label that types the field),
and the reader gets them in its crop. Each box is read as sparse text (Tesseract, no layout
analysis); a label word read with high confidence at one of the box's edges, smaller than the
handwriting, is cut out by moving that edge past it. A cut that would leave little of the box
is not made.

A person who runs out of blank goes on writing beside the caption under it (`(Print Name and
Official title) Business + Support Services`). When the box's bottom is cut above such a
caption, the writing right of the caption on its row (words the sparse read doubts) becomes an
annotation box of its own, rather than being left outside every box.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from indexer.document import Box, Page, Span, Word
from indexer.processors.fields.labels import CLOSING_BRACKETS, OPENING_BRACKETS, is_label_word
from indexer.processors.regions import RegionReader, RegionReadingStep

__all__ = ["CUT_GAP_PX", "WORD_EDGES", "TrimBoxes", "trimmed", "writing_beside_caption"]

log = logging.getLogger(__name__)

#: Tesseract's confidence in a word of print (handwriting read by it rarely reaches this).
PRINT_CONFIDENCE = 0.9
#: A printed word is at most this share of the box's height (the handwriting is bigger or the
#: box holds more than one line).
PRINT_MAX_HEIGHT_SHARE = 0.6
#: Share of the box's width (or height) from an edge within which a word counts as at that edge.
EDGE_SHARE = 0.2
#: A word whose middle is in this share of the box's height at its top or bottom is a caption.
BAND_SHARE = 0.3
#: A cut never leaves less than this share of the box's width or height.
MIN_KEPT_SHARE = 0.4
#: Label words that are cut out without a colon or brackets (captions under signature lines);
#: other keywords (`Street`, `Rent`) are as often handwritten.
CAPTION_WORDS = frozenset({"signature", "title", "name", "date", "print", "initials"})
#: Punctuation stripped off a word before it is compared with a keyword.
WORD_EDGES = "()[]{}.,;:!?\"'"
_READ_MARGIN_PX = 4
#: Room left between a cut edge and the word: masking blanks 6 px around each box (anchor.py).
CUT_GAP_PX = 10
_MIN_LETTERS = 2
#: A caption's words after its label word are read at least this surely (`and Official title)`).
CAPTION_CONFIDENCE = 0.7
#: Writing beside a cut caption: its words' confidence (weighted by width) is under this, and
#: they are at least this share of the box's width.
BESIDE_MAX_CONFIDENCE = 0.5
BESIDE_MIN_WIDTH_SHARE = 0.25


def _is_printed_label(word: Word, box: Box) -> bool:
    """A label or caption word read surely: `Date:`, `(Signature)`, `[TITLE]`, `By:`, `Name`.

    Only such words are cut out: other print at an edge cannot be told from handwriting that
    Tesseract happens to read well (block capitals, the first line of a multi-line box).
    """
    text = word.text.strip()
    letters = sum(char.isalpha() for char in text)
    if word.confidence < PRINT_CONFIDENCE or letters < _MIN_LETTERS:
        return False
    if word.box.height > PRINT_MAX_HEIGHT_SHARE * box.height:
        return False
    bracketed = text.startswith(OPENING_BRACKETS) and text.endswith(CLOSING_BRACKETS)
    bare = text.strip(WORD_EDGES).lower()
    if text.endswith(":") or (bracketed and is_label_word(text)) or bare in CAPTION_WORDS:
        return True
    # A printed capital caption that the handwriting crosses is read only in part (`DA` of
    # `DATE` under the stroke of a `4`).
    return text.isalpha() and text.isupper() and any(caption.startswith(bare) for caption in CAPTION_WORDS)


def _cuts(word: Box, box: Box) -> list[Box]:
    """The boxes left when `box` is cut back past `word` from the edge it is at.

    A word in the box's top or bottom band (a caption) moves that edge; a word beside the
    handwriting (a label on its line) moves the left or right edge. Never both: a left cut past
    a caption would take the handwriting above it with it.
    """
    middle_x, middle_y = box.center
    centre_y = (word.y0 + word.y1) / 2
    options = []
    if centre_y > box.y1 - BAND_SHARE * box.height and word.y0 > middle_y:
        options.append((box.x0, box.y0, box.x1, word.y0 - CUT_GAP_PX))
    elif centre_y < box.y0 + BAND_SHARE * box.height and word.y1 < middle_y:
        options.append((box.x0, word.y1 + CUT_GAP_PX, box.x1, box.y1))
    elif word.x0 <= box.x0 + EDGE_SHARE * box.width and word.x1 < middle_x:
        options.append((word.x1 + CUT_GAP_PX, box.y0, box.x1, box.y1))
    elif word.x1 >= box.x1 - EDGE_SHARE * box.width and word.x0 > middle_x:
        options.append((box.x0, box.y0, word.x0 - CUT_GAP_PX, box.y1))
    return [
        Box(x0, y0, x1, y1)
        for x0, y0, x1, y1 in options
        if x1 - x0 >= MIN_KEPT_SHARE * box.width and y1 - y0 >= MIN_KEPT_SHARE * box.height
    ]


def trimmed(box: Box, words: list[Word]) -> Box:
    """`box` cut back past every printed word at its edges (each cut the one that keeps most)."""
    for word in sorted(words, key=lambda word: -word.box.intersection(box)):
        if not _is_printed_label(word, box) or word.box.intersection(box) == 0:
            continue
        cuts = _cuts(word.box, box)
        if cuts:
            box = max(cuts, key=lambda cut: cut.area)
    return box


def writing_beside_caption(box: Box, cut: Box, words: list[Word]) -> Box | None:
    """The box of the writing right of the caption under `box`, when `cut` moved only the box's
    bottom above that caption and the caption's row goes on with doubtful words; else None.

    `words` is the sparse read of the box. The caption runs from its last label word to the
    right while its words are read surely, and ends at a closing bracket.
    """
    if (cut.x0, cut.y0, cut.x1) != (box.x0, box.y0, box.x1) or cut.y1 >= box.y1:
        return None
    caption_top = cut.y1 + CUT_GAP_PX
    # The caption's row: words whose middle is below the caption's top (the first line's
    # descenders reach lower, but not their middles).
    row = sorted(
        (word for word in words if word.box.center[1] > caption_top and word.box.intersection(box) > 0),
        key=lambda word: word.box.x0,
    )
    labels = [index for index, word in enumerate(row) if _is_printed_label(word, box)]
    if not labels:
        return None
    end = labels[-1]
    while (
        end + 1 < len(row)
        and not row[end].text.endswith(CLOSING_BRACKETS)
        and row[end + 1].confidence >= CAPTION_CONFIDENCE
    ):
        end += 1
    beside = row[end + 1 :]
    width = sum(word.box.width for word in beside)
    if width < BESIDE_MIN_WIDTH_SHARE * box.width:
        return None
    if sum(word.confidence * word.box.width for word in beside) >= BESIDE_MAX_CONFIDENCE * width:
        return None
    return Box(
        min(word.box.x0 for word in beside) - _READ_MARGIN_PX,
        min(cut.y1 + 1, min(word.box.y0 for word in beside) - _READ_MARGIN_PX),
        box.x1,
        max(box.y1, max(word.box.y1 for word in beside) + _READ_MARGIN_PX),
    )


class TrimBoxes(RegionReadingStep):
    """Cuts printed words out of each span's box (sets `span.box`); the detector's box is kept
    in the log only. Writing beside a cut caption becomes a span of its own
    (`writing_beside_caption`)."""

    name = "trim_boxes"
    summary = (
        "label words at the box edges (read as sparse text) cut out of the box; writing beside a cut "
        "caption boxed on its own"
    )

    def process(self, page: Page, read: RegionReader) -> Page:
        spans: list[Span] = []
        for span in page.spans:
            spans.append(span)
            words = read(span.box.grown(_READ_MARGIN_PX))
            cut = trimmed(span.box, words)
            if cut == span.box:
                continue
            log.debug("page %d: span %s trimmed %s -> %s", page.number, span.id, span.box, cut)
            # A signature's flourish often crosses its caption; only annotations go on beside it.
            beside = None if span.is_signature else writing_beside_caption(span.box, cut, words)
            if beside is not None:
                beside = beside.clipped(page.width, page.height)
                log.debug("page %d: span %s goes on beside its caption in %s", page.number, span.id, beside)
                spans.append(replace(span, id=f"{span.id}.beside", box=beside, entities={}))
            span.box = cut
        page.spans = spans
        return page
