"""Anchor tokens: their form, their uniqueness, the blanking, and that Tesseract reads them."""

from __future__ import annotations

import numpy as np

from indexer.backends.tesseract import TesseractOcr
from indexer.config import AnchorSettings, TesseractSettings
from indexer.document import Box, HandwritingKind, Page, Span
from indexer.processors.anchor import TOKEN_PATTERN, AnchorPainter, MaskWithAnchors, background_colour

PAPER = (236, 230, 214)  # a yellowed scan


def _page_with_ink(boxes: list[Box]) -> Page:
    image = np.full((600, 1000, 3), PAPER, dtype=np.uint8)
    for box in boxes:
        image[box.y0 + 5 : box.y1 - 5, box.x0 + 5 : box.x1 - 5] = (30, 30, 90)  # "handwriting"
    spans = [
        Span(id=f"h{index}", kind=HandwritingKind.ANNOTATION, box=box, detection_score=0.9)
        for index, box in enumerate(boxes)
    ]
    return Page(number=1, dpi=200, width=1000, height=600, spans=spans, image=image)


def test_tokens_are_unique_8ddd8_and_avoid_given_numbers() -> None:
    painter = AnchorPainter(AnchorSettings(seed=7))
    avoid = {f"8{n:03d}8" for n in range(0, 1000, 2)}

    tokens = painter.new_tokens(200, avoid=avoid)

    assert len(set(tokens)) == 200
    assert all(TOKEN_PATTERN.fullmatch(token) for token in tokens)
    assert not set(tokens) & avoid


def test_box_is_blanked_with_the_local_paper_colour() -> None:
    """No white hole: the blanked box takes the tint of the scan around it."""
    box = Box(100, 100, 400, 180)
    page = MaskWithAnchors(AnchorPainter(AnchorSettings(seed=1)))(_page_with_ink([box]))
    assert page.masked_image is not None

    corner = page.masked_image[box.y0 + 2, box.x0 + 2]

    assert tuple(int(value) for value in corner) == PAPER
    assert background_colour(page.masked_image, box) == PAPER
    assert page.spans[0].anchor_box is not None


def test_tesseract_reads_the_drawn_tokens() -> None:
    boxes = [Box(80, 60, 400, 150), Box(500, 250, 560, 280), Box(100, 400, 900, 520)]
    page = MaskWithAnchors(AnchorPainter(AnchorSettings(seed=3)))(_page_with_ink(boxes))
    assert page.masked_image is not None

    with TesseractOcr(TesseractSettings()) as ocr:
        result = ocr.read_page(page.masked_image, dpi=page.dpi)

    read = {word.text for word in result.words}
    assert {span.anchor for span in page.spans} <= read


def test_the_rule_running_out_of_a_box_is_painted_over_but_printed_text_stays() -> None:
    """GIVEN `By: ____[signature]____ Date:` WHEN masking THEN the rule beside the box is gone
    (what is left of it reads as garbage words) and the labels keep their ink."""
    box = Box(300, 100, 500, 160)
    page = _page_with_ink([box])
    assert page.image is not None
    page.image[150:153, 200:660] = (20, 20, 20)  # the signature rule, out of the box both sides
    page.image[120:150, 100:160] = (20, 20, 20)  # "By:" (a printed word is no long thin run)
    page.image[120:150, 720:800] = (20, 20, 20)  # "Date:"

    masked = MaskWithAnchors(AnchorPainter(AnchorSettings(seed=1)))(page).masked_image
    assert masked is not None

    assert masked[150:153, 200:290].min() > 128 and masked[150:153, 510:660].min() > 128
    assert masked[120:150, 100:160].max() < 128 and masked[120:150, 720:800].max() < 128


def test_a_caption_the_box_edge_cuts_keeps_its_ink_and_writing_across_the_edge_is_blanked() -> None:
    """GIVEN a cell's printed caption whose lower slice lies inside the box's top, a blank gap,
    then the writing; and a second box whose writing runs over its top edge with no gap
    WHEN masking THEN the first blank starts at the gap, so the caption keeps all its ink, and the
    token sits below it; the second box is blanked to its edge and beyond, as before."""
    cell = Box(100, 100, 500, 200)
    crossed = Box(600, 100, 900, 200)
    page = _page_with_ink([cell, crossed])
    assert page.image is not None
    page.image[100:116, 100:500] = PAPER  # the writing starts 16 rows into the box
    for left in range(120, 480, 10):  # the caption's letters: 10 rows over the box, 10 inside
        page.image[90:110, left : left + 4] = (20, 20, 20)
    page.image[92:190, 620:880] = (30, 30, 90)  # writing rising over its box's top edge

    page = MaskWithAnchors(AnchorPainter(AnchorSettings(seed=1)))(page)
    masked = page.masked_image
    assert masked is not None

    first, second = (span.anchor_box for span in page.spans)
    assert first is not None and second is not None
    assert 110 <= first.y0 <= 116
    assert np.array_equal(masked[90:110, 120:480], page.image[90:110, 120:480])  # the caption, whole
    assert not (masked[116:195, 120:480] == (30, 30, 90)).all(axis=-1).any()  # the writing, gone
    assert second.y0 == crossed.y0 - 6  # the margin, as before
