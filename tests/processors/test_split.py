"""split_blocks: a signature box over a block's labelled rows becomes one box a row."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.backends.tesseract import TesseractOcr
from indexer.config import load_settings
from indexer.document import Box, FieldType, HandwritingKind, KindSource, Page, Span, Word
from indexer.errors import ProcessingError
from indexer.processors.fields import FindLabels
from indexer.processors.split import SplitBlocks, block_pieces, label_rows, split_box
from indexer.processors.trim import TrimBoxes
from indexer.training.data.synthetic import handwriting_fonts

PRINT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#: A signature box reaching from its own row over the Name and Title rows under it.
BLOCK = Box(300, 400, 900, 580)


def _label(text: str, y: int, *, x: int = 60, confidence: float = 0.95) -> Word:
    return Word(text, Box(x, y, x + 20 * len(text), y + 22), confidence)


def _block_words() -> list[Word]:
    return [
        _label("Signature:", 460),
        _label("Name:", 500),
        _label("Title:", 540),
        _label("scrawl", 430, x=400),
    ]


def test_the_label_rows_within_the_box_are_found_top_to_bottom() -> None:
    rows = label_rows(_block_words(), BLOCK)

    assert [row.type for row in rows] == [FieldType.SIGNATURE, FieldType.NAME, FieldType.TITLE]


def test_labels_outside_the_box_rows_or_right_of_its_left_part_are_not_rows() -> None:
    words = [
        _label("Date:", 620),  # below the box
        _label("Name:", 500, x=700),  # in the middle of the box: handwriting read as a word
        _label("Title", 540, confidence=0.05),  # a keyword read with almost no confidence
        _label("Notes:", 460),  # no field type
    ]

    assert label_rows(words, BLOCK) == []


def test_the_box_is_cut_under_each_row_baseline_and_each_piece_keeps_its_label() -> None:
    pieces = split_box(BLOCK, label_rows(_block_words(), BLOCK))

    boxes = [piece.box for piece in pieces]
    assert [piece.label.text for piece in pieces] == ["Signature:", "Name:", "Title:"]
    assert boxes[0].y0 == BLOCK.y0 and boxes[-1].y1 == BLOCK.y1
    assert all(upper.y1 == lower.y0 for upper, lower in itertools.pairwise(boxes))
    # each row's writing sits on its label's line and rises above it: the cut between the Name
    # and Title rows falls just under Name's baseline (522), well above Title's print (540)
    assert 522 < boxes[1].y1 <= 532
    assert all(box.x0 == BLOCK.x0 and box.x1 == BLOCK.x1 for box in boxes)


def test_the_last_row_reaches_under_its_label_when_the_box_stops_at_its_middle() -> None:
    """The detector's box ends in the last row's writing (`Date: 3/13/13` under Name and Title)."""
    short = Box(300, 440, 900, 552)  # ends 12 px into the Title row (540-562)
    pieces = split_box(short, label_rows(_block_words(), short))

    assert [piece.label.text for piece in pieces] == ["Signature:", "Name:", "Title:"]
    assert pieces[-1].box.y1 > 562  # under Title's baseline, as the other rows' cuts are
    assert pieces[-1].box.y1 - pieces[1].box.y1 == pieces[1].box.y1 - pieces[0].box.y1  # rows 40 px apart


def test_a_row_the_box_ends_in_above_its_labels_middle_is_still_a_row() -> None:
    """The box stops 7 px into Title's print (540-562): the title written there is a row's."""
    short = Box(300, 440, 900, 547)
    pieces = split_box(short, label_rows(_block_words(), short))

    assert [piece.label.text for piece in pieces] == ["Signature:", "Name:", "Title:"]
    assert pieces[-1].box.y1 > 562
    # a box that only grazes the next row's print (its descenders) does not take that row in
    assert [row.text for row in label_rows(_block_words(), Box(300, 440, 900, 543))] == [
        "Signature:",
        "Name:",
    ]


def test_a_label_inside_the_box_stays_out_of_its_piece() -> None:
    box = Box(50, 400, 900, 580)  # drawn loosely over the labels
    pieces = split_box(box, label_rows(_block_words(), box))

    assert [piece.box.x0 for piece in pieces] == [60 + 20 * 10 + 10, 60 + 20 * 5 + 10, 60 + 20 * 6 + 10]


def test_one_label_row_or_rows_another_box_has_leave_the_box_whole() -> None:
    assert block_pieces([_label("Name:", 500)], BLOCK, []) == []
    name_box = Box(300, 490, 900, 530)  # the name already has an annotation box of its own
    kept = block_pieces(_block_words(), BLOCK, [name_box])
    assert [piece.label.text for piece in kept] == ["Signature:", "Title:"]


def _block_page() -> tuple[Page, Box]:
    """A printed signature block, with a scrawl, a written name and a written title on its rows."""
    image = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(image)
    printed = ImageFont.truetype(PRINT_FONT, 30)
    hand = ImageFont.truetype(str(handwriting_fonts()[0]), 44)
    for y, text in ((900, "Signature:"), (960, "Name:"), (1020, "Title:")):
        draw.text((150, y), text, font=printed, fill=(0, 0, 0), anchor="ls")
        draw.line((330, y + 4, 1000, y + 4), fill=(0, 0, 0), width=2)
    draw.text(
        (360, 896),
        "Jwatmll",
        font=ImageFont.truetype(str(handwriting_fonts()[0]), 90),
        fill=(10, 10, 60),
        anchor="ls",
    )
    draw.text((360, 956), "Jaidev Watumull", font=hand, fill=(10, 10, 60), anchor="ls")
    draw.text((360, 1016), "Vice President", font=hand, fill=(10, 10, 60), anchor="ls")
    return Page(number=1, dpi=200, width=1700, height=2200, image=np.asarray(image)), Box(
        340, 820, 1000, 1030
    )


def test_a_detector_signature_over_a_printed_block_is_cut_and_its_rows_typed_by_their_labels() -> None:
    """Real Tesseract reads the rendered labels; find_labels then keeps the signature row a
    signature and makes the Name and Title rows annotations with those types."""

    page, block = _block_page()
    page.spans = [Span(id="p1-h0", kind=HandwritingKind.SIGNATURE, box=block, detection_score=0.9)]
    with TesseractOcr(load_settings().tesseract) as ocr:
        SplitBlocks(ocr)(page)

    assert [span.id for span in page.spans] == ["p1-h0.0", "p1-h0.1", "p1-h0.2"]
    FindLabels()(page)  # no page OCR here: the rows' labels come from the split
    kinds = [(span.kind, span.field_type, span.kind_source) for span in page.spans]
    assert kinds == [
        (HandwritingKind.SIGNATURE, FieldType.SIGNATURE, KindSource.DETECTOR),
        (HandwritingKind.ANNOTATION, FieldType.NAME, KindSource.LABEL),
        (HandwritingKind.ANNOTATION, FieldType.TITLE, KindSource.LABEL),
    ]
    name = page.spans[1].box
    assert name.y0 < 930 and name.y1 > 960  # the written name's row, whole


def test_a_box_that_only_reaches_down_into_a_row_does_not_take_that_row() -> None:
    """A name written high over the signature line above: the box starts under `Signed:`'s top."""
    words = [_label("Signed:", 420), _label("Name:", 480)]
    name_box = Box(300, 428, 900, 515)

    assert [row.text for row in label_rows(words, name_box)] == ["Name:"]


def test_the_region_reading_steps_are_off_without_a_reader_of_regions_and_need_the_image() -> None:
    """GIVEN a printed OCR that cannot read a region (Azure's page OCR) THEN split_blocks and
    trim_boxes say they are off and leave the boxes; with Tesseract, a page without its image is
    an error that names the step."""
    span = Span(id="p1-h0", kind=HandwritingKind.SIGNATURE, box=BLOCK, detection_score=0.9)
    for step in (SplitBlocks(object()), TrimBoxes(object())):
        page = Page(number=1, dpi=200, width=1700, height=2200, spans=[span])
        assert "off" in step.describe()
        assert step(page).spans == [span]
    with TesseractOcr(load_settings().tesseract) as ocr:
        for step in (SplitBlocks(ocr), TrimBoxes(ocr)):
            with pytest.raises(ProcessingError, match=step.name):
                step(Page(number=1, dpi=200, width=1700, height=2200, spans=[span]))
