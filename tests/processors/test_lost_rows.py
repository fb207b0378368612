"""Re-reading the rows where the page OCR read nothing, as sparse text."""

from __future__ import annotations

import numpy as np

from indexer.backends.tesseract import TesseractOcr
from indexer.config import TesseractSettings
from indexer.document import Box, HandwritingKind, Span, Word
from indexer.processors.ocr_print.lost_rows import reread_lost_rows, unread_spans


def _span(anchor: str, box: Box) -> Span:
    return Span(id=f"h-{anchor}", kind=HandwritingKind.SIGNATURE, box=box, detection_score=0.9, anchor=anchor)


class _RowReader:
    """Reads a fixed row of words (in region pixels), whatever the region; records the calls."""

    def __init__(self, words: list[Word]) -> None:
        self.words = words
        self.regions: list[tuple[int, ...]] = []

    def read_sparse(self, image: np.ndarray, *, dpi: int) -> list[Word]:
        self.regions.append(image.shape)
        return self.words


def test_only_boxes_with_no_word_at_all_are_unread() -> None:
    read = _span("81118", Box(300, 100, 400, 140))
    misread = _span("82228", Box(300, 200, 400, 240))
    lost = _span("83338", Box(300, 300, 400, 340))
    words = [Word("81118", Box(310, 105, 390, 135), 0.9), Word("B222B", Box(310, 205, 390, 235), 0.4)]

    assert unread_spans(words, [read, misread, lost]) == [lost]


def test_reread_words_join_in_reading_order_as_a_line_of_their_own() -> None:
    """GIVEN a line above and below and a lost row between WHEN re-reading THEN its words, left
    to right, go between the two lines, and a word read twice is added once."""
    lost = _span("81408", Box(350, 300, 580, 350))
    above = Word("above", Box(100, 200, 200, 230), 0.9, block=1, line=1)
    below = Word("below", Box(100, 400, 200, 430), 0.9, block=2, line=1)
    # Region pixels: the row starts 8 px above the box.
    reader = _RowReader(
        [
            Word("Date:", Box(760, 12, 850, 40), 0.97),
            Word("WITNESS:", Box(100, 12, 280, 40), 0.97),
            Word("81408", Box(420, 10, 510, 42), 0.96),
            Word("Date:", Box(762, 13, 851, 41), 0.9),  # read twice: the same word
        ]
    )
    image = np.full((600, 1000, 3), 240, np.uint8)

    words = reread_lost_rows(reader, image, [above, below], [lost], dpi=200)

    assert [word.text for word in words] == ["above", "WITNESS:", "81408", "Date:", "below"]
    assert words[2].box == Box(420, 302, 510, 334)
    assert len({(word.block, word.line) for word in words[1:4]}) == 1 and words[1].block == 3
    assert reader.regions == [(358 - 292, 1000, 3)]  # the box, 8 px more on each side


def test_nothing_is_reread_when_every_box_holds_a_word() -> None:
    span = _span("81118", Box(300, 100, 400, 140))
    words = [Word("81118", Box(310, 105, 390, 135), 0.9)]
    reader = _RowReader([])

    assert reread_lost_rows(reader, np.zeros((300, 500, 3), np.uint8), words, [span], dpi=200) is words
    assert reader.regions == []


def test_tesseract_reads_a_row_as_sparse_text_and_keeps_its_page_mode() -> None:
    from PIL import Image, ImageDraw, ImageFont

    picture = Image.new("RGB", (900, 80), (245, 245, 245))
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", 32)
    ImageDraw.Draw(picture).text((20, 20), "WITNESS:", font=font, fill=(20, 20, 20))
    ImageDraw.Draw(picture).text((600, 20), "Date:", font=font, fill=(20, 20, 20))

    with TesseractOcr(TesseractSettings()) as ocr:
        words = ocr.read_sparse(np.asarray(picture), dpi=200)
        assert ocr._api.GetPageSegMode() == TesseractSettings().psm

    assert {word.text for word in words} == {"WITNESS:", "Date:"}
