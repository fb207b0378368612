"""SplitBlocks: a box drawn over several labelled rows of a signature block becomes a box a row.

Signature blocks stack their fields: `Signature: ___ / Name: ___ / Title: ___ / Date: ___`. A
signature rises over the rows next to its own, and the detector then often draws one signature
box over the whole block: the name, title and date written on those rows are masked as part of
the signature and never read. Faint rows of one block also come out as one annotation box, read
as one muddled line. Before masking, the printed labels at the left of each box are read (sparse
text over the box and a reach to its left); when two or more label rows lie within the box, it
is cut between the rows. Each piece keeps the detector's class as its prior and carries its row's
label, from which `find_labels` gives it its kind and type: the piece beside `Name:` becomes a
name, the one beside `Signature:` stays a signature.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, replace
from typing import NamedTuple

from indexer.document import Box, FieldType, Label, Page, Span, Word
from indexer.processors.fields.labels import ROW_SIDE, label_word_type
from indexer.processors.regions import RegionReader, RegionReadingStep
from indexer.processors.trim import CUT_GAP_PX, WORD_EDGES

__all__ = ["LabelRow", "Piece", "SplitBlocks", "block_pieces", "label_rows", "split_box"]

log = logging.getLogger(__name__)

#: How far left of the box its row labels may start, in inches (a block's labels sit in a column
#: left of the blanks).
LEFT_REACH_INCHES = 1.5
#: A label word may start this share of the box's width inside it (boxes are drawn loosely and
#: often take the labels in).
INSIDE_SHARE = 0.25
#: Tesseract's confidence in a printed label word (sparse text); a keyword read exactly counts at
#: a lower one (handwriting crossing `Signature` lowers it, and a misread is rarely a keyword).
MIN_CONFIDENCE = 0.6
MIN_EXACT_CONFIDENCE = 0.1
#: The labels are read a little above and below the box, so that a row the box cuts is read whole.
READ_MARGIN_INCHES = 0.1
#: A label's print is at most this share of the box's height: the box spans more than its row.
MAX_WORD_HEIGHT_SHARE = 0.5
#: A row's label top may lie this share of its height above the box's top.
TOP_SLACK = 0.2
#: The box's bottom reaches this share of a row label's height into it, for the row to count.
BOTTOM_REACH = 0.25
#: Two label words are on one row when their middles are this many word heights apart or less.
ROW_HEIGHTS = 0.6
#: Label words that count without a colon (`Name ____`); any other needs one (`By:`, `Its:`).
BARE_LABELS = frozenset({"signature", "name", "title", "date"})
#: Below its label's baseline a row's writing reaches this share of the print height (descenders).
DESCENDER_SHARE = 0.3
#: A piece shorter than this share of the rows' print height is not kept.
MIN_PIECE_SHARE = 0.8
#: A piece mostly inside another box is that box's row: it is dropped, not doubled.
OTHER_BOX_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class LabelRow:
    """One printed label of a block (`Name:`), its words' box and the type it names."""

    text: str
    box: Box
    type: FieldType

    @property
    def middle(self) -> float:
        return (self.box.y0 + self.box.y1) / 2


class Piece(NamedTuple):
    """One row's part of a cut box, with the row's label and the type that label names."""

    box: Box
    label: Label
    type: FieldType


def _label_text(word: Word) -> str:
    # OCR reads a colon as a semicolon often enough (`Namo;`).
    return word.text.strip().replace(";", ":")


def _is_row_label(word: Word, box: Box) -> bool:
    text = _label_text(word)
    if label_word_type(text) is None:
        return False
    bare = text.strip(WORD_EDGES).lower()
    if not (text.endswith(":") or bare in BARE_LABELS):
        return False
    exact = label_word_type(bare) is not None
    if word.confidence < (MIN_EXACT_CONFIDENCE if exact else MIN_CONFIDENCE):
        return False
    # Writing rises above its row's label, so a box holding a row's writing starts above the
    # label's top; one that starts lower only reaches down into that row (a name written high).
    # The box's bottom need only reach into the label's print: it often stops in the writing of
    # the block's last row (`split_box` takes that row down to its baseline).
    return (
        box.y0 <= word.box.y0 + TOP_SLACK * word.box.height
        and word.box.y0 + BOTTOM_REACH * word.box.height <= box.y1
        and word.box.x0 <= box.x0 + INSIDE_SHARE * box.width
        and word.box.height <= MAX_WORD_HEIGHT_SHARE * box.height
    )


def label_rows(words: list[Word], box: Box) -> list[LabelRow]:
    """The label rows within `box`'s height at its left, top to bottom.

    A row's type is its last label word's (`Entity Name:` names a name).
    """
    labels = sorted((word for word in words if _is_row_label(word, box)), key=lambda w: w.box.center[1])
    if not labels:
        return []
    height = statistics.median(word.box.height for word in labels)
    rows: list[list[Word]] = []
    for word in labels:
        if rows and abs(word.box.center[1] - rows[-1][0].box.center[1]) <= ROW_HEIGHTS * height:
            rows[-1].append(word)
        else:
            rows.append([word])
    found = []
    for row in rows:
        last = max(row, key=lambda word: word.box.x1)
        kind = label_word_type(_label_text(last))
        if kind is not None:
            text = " ".join(_label_text(word) for word in row)
            found.append(LabelRow(text, Box.enclosing(word.box for word in row), kind))
    return found


def split_box(box: Box, rows: list[LabelRow]) -> list[Piece]:
    """`box` cut between its label rows: one piece a row, from the box's top to its bottom.

    Writing sits on its row's line and rises above it, so a row's piece runs from just under the
    row above's baseline to just under its own (a label's baseline: its middle plus half the
    rows' median print height, as handwriting crossing a label makes its box taller). The last
    piece ends at the box's bottom or under its own baseline, whichever is lower: the detector's
    box often stops at the writing's middle on the block's last row (`Date: 3/13/13`). A piece
    starts right of its label when the label lies inside the box.
    """
    if not rows:
        return []
    height = statistics.median(row.box.height for row in rows)
    cuts = [round(row.middle + (0.5 + DESCENDER_SHARE) * height) for row in rows]
    pieces = []
    for index, row in enumerate(rows):
        top = box.y0 if index == 0 else cuts[index - 1]
        bottom = max(box.y1, cuts[index]) if index == len(rows) - 1 else cuts[index]
        left = max(box.x0, row.box.x1 + CUT_GAP_PX) if row.box.x1 > box.x0 else box.x0
        if left >= box.x1 or bottom - top < MIN_PIECE_SHARE * height:
            continue
        label = Label(row.text, row.box, ROW_SIDE, round(height))
        pieces.append(Piece(Box(left, top, box.x1, bottom), label, row.type))
    return pieces


def block_pieces(words: list[Word], box: Box, taken: list[Box]) -> list[Piece]:
    """`box` cut into a piece a label row, each with its row's label, leaving out rows another box
    in `taken` holds; none when fewer than two label rows lie within it."""
    rows = label_rows(words, box)
    if len(rows) < 2:
        return []
    return [
        piece
        for piece in split_box(box, rows)
        if not any(piece.box.intersection(other) >= OTHER_BOX_SHARE * piece.box.area for other in taken)
    ]


class SplitBlocks(RegionReadingStep):
    """Cuts each span that spans two or more labelled rows into one span a row."""

    name = "split_blocks"
    summary = "boxes over two or more labelled rows (read as sparse text) cut into a box a row"

    def process(self, page: Page, read: RegionReader) -> Page:
        reach = round(LEFT_REACH_INCHES * page.dpi)
        margin = round(READ_MARGIN_INCHES * page.dpi)
        spans: list[Span] = []
        # The pieces cut so far: two boxes over one block both reach its middle rows, and the
        # first cut takes them.
        taken: list[Box] = []
        for span in page.spans:
            box = span.box
            region = Box(max(0, box.x0 - reach), max(0, box.y0 - margin), box.x1, box.y1 + margin)
            pieces = block_pieces(read(region), box, taken)
            if not pieces:
                spans.append(span)
                continue
            log.debug("page %d: span %s cut into %d rows", page.number, span.id, len(pieces))
            taken += [piece.box for piece in pieces]
            spans += [
                replace(
                    span,
                    id=f"{span.id}.{index}",
                    box=piece.box.clipped(page.width, page.height),
                    entities={},
                    label=piece.label,
                    field_type=piece.type,
                )
                for index, piece in enumerate(pieces)
            ]
        page.spans = spans
        return page
