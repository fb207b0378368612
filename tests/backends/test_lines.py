"""The line splitter: handwritten lines found and kept, printed neighbours and blank paper dropped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.backends.base import Recognition
from indexer.backends.htr.grammar import FieldType
from indexer.backends.htr.lines import LineSplitOptions, LineSplitter, LineSplittingRecognizer, find_bands
from indexer.backends.tesseract_crop import TesseractCropRecognizer
from indexer.training.htr.evaluate import load_split

CONTRACTS_DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "contracts-dev"
PRINTED_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
HAND_FONT = "/usr/share/fonts/truetype/kristi/Kristi.ttf"


def _page(height: int, width: int = 600) -> Image.Image:
    return Image.new("L", (width, height), 250)


def _write(image: Image.Image, y: int, text: str, *, font: str, size: int) -> None:
    ImageDraw.Draw(image).text((10, y), text, fill=20, font=ImageFont.truetype(font, size))


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


@pytest.fixture(scope="module")
def tesseract() -> Iterator[TesseractCropRecognizer]:
    with TesseractCropRecognizer() as reader:
        yield reader


def test_two_written_lines_over_a_rule_are_two_bands_top_to_bottom() -> None:
    image = _page(130)
    _write(image, 10, "841 Bishop Street", font=HAND_FONT, size=40)
    _write(image, 70, "Honolulu HI 96813", font=HAND_FONT, size=40)
    draw = ImageDraw.Draw(image)
    draw.line((0, 62, 599, 62), fill=0, width=2)  # an underline touching both lines' ink rows
    draw.line((590, 0, 590, 129), fill=0, width=2)  # a box border spanning both

    bands = find_bands(np.asarray(image))

    assert len(bands) == 2
    (top1, bottom1), (top2, bottom2) = bands
    assert top1 < bottom1 <= top2 < bottom2
    assert bottom1 <= 72 and top2 >= 60


def test_blank_paper_around_a_line_is_trimmed() -> None:
    image = _page(150, 600)
    _write(image, 90, "July 15, 2010", font=HAND_FONT, size=44)
    written = ImageDraw.Draw(image).textlength("July 15, 2010", font=ImageFont.truetype(HAND_FONT, 44))

    (line,) = LineSplitter().split(_array(image))

    assert 30 <= line.shape[0] <= 70
    # left and right, the writing keeps about half a line's height of paper
    assert written < line.shape[1] < written + 10 + 2 * line.shape[0]
    assert line.min() < 100  # the writing is inside


def test_a_rule_running_on_past_the_writing_is_trimmed_with_the_paper() -> None:
    """A loose box along a form's blank: the rule under a short date runs the crop's width."""
    image = _page(60, 800)
    _write(image, 5, "3/13/13", font=HAND_FONT, size=40)
    ImageDraw.Draw(image).line((0, 52, 799, 52), fill=0, width=2)

    (line,) = LineSplitter().split(_array(image))

    assert line.shape[1] < 300


def test_a_printed_line_cut_by_the_crop_edge_is_dropped() -> None:
    image = _page(110)
    _write(image, -8, "IN WITNESS WHEREOF, the parties", font=PRINTED_FONT, size=20)
    _write(image, 40, "7825 Fay Ave, La Jolla", font=HAND_FONT, size=40)

    bands = LineSplitter().bands(_array(image))

    assert len(find_bands(np.asarray(image))) == 2
    assert len(bands) == 1 and bands[0][0] > 20


def test_a_small_caption_under_the_writing_is_dropped() -> None:
    image = _page(120)
    _write(image, 10, "841 Bishop St., Honolulu", font=HAND_FONT, size=48)
    _write(image, 80, "(Print Name and Official Title)", font=PRINTED_FONT, size=16)

    bands = LineSplitter().bands(_array(image))

    assert len(find_bands(np.asarray(image))) == 2
    assert len(bands) == 1 and bands[0][1] < 80


def test_tesseract_tells_a_printed_line_from_a_written_one(tesseract: TesseractCropRecognizer) -> None:
    image = _page(130, 700)
    _write(image, 12, "Jaidev Watumull", font=HAND_FONT, size=44)
    _write(image, 75, "NAME AND ADDRESS OF OWNER", font=PRINTED_FONT, size=26)
    geometry_only, checked = LineSplitter(), LineSplitter(printed_reader=tesseract)

    assert len(geometry_only.bands(_array(image))) == 2
    (kept,) = checked.bands(_array(image))
    assert kept[1] < 75


class _Heights:
    """Reads every line as its height, so the test sees which lines were read and in which batch."""

    name = "heights"
    version = "1"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        self.batches.append(len(crops))
        return [
            Recognition(str(crop.shape[0]), 0.5 + 0.1 * index, self.name) for index, crop in enumerate(crops)
        ]


def test_the_recognizer_reads_all_lines_in_one_batch_and_joins_them_in_order() -> None:
    two_lines = _page(130)
    _write(two_lines, 10, "841 Bishop Street", font=HAND_FONT, size=40)
    _write(two_lines, 75, "Honolulu HI 96813", font=HAND_FONT, size=40)
    one_line = _page(60)
    _write(one_line, 5, "Member", font=HAND_FONT, size=40)
    inner = _Heights()
    recognizer = LineSplittingRecognizer(inner, LineSplitter())

    results = recognizer.recognize([_array(two_lines), _array(one_line)])

    assert inner.batches == [3]
    first, second = results
    assert len(first.text.split()) == 2 and len(second.text.split()) == 1
    heights = [int(h) for h in first.text.split()]
    assert 0.5 <= first.confidence <= 0.7  # the length-weighted mean of the first two lines
    assert all(h < 130 for h in heights)
    assert recognizer.recognize([]) == []


class _HintedHeights(_Heights):
    """Like `_Heights`, and keeps the type hint each line was read with."""

    def __init__(self) -> None:
        super().__init__()
        self.hints: list[FieldType | None] = []

    def recognize(
        self, crops: Sequence[np.ndarray], *, type_hints: Sequence[FieldType | None] | None = None
    ) -> list[Recognition]:
        self.hints += list(type_hints) if type_hints is not None else [None] * len(crops)
        return super().recognize(crops)


def test_each_line_is_read_with_its_crops_type_hint_when_the_engine_takes_hints() -> None:
    """GIVEN an address crop of two lines and a date crop of one WHEN read with hints
    THEN both address lines carry the address crop's hint and the date line the date's;
    an engine without hints is called as before."""
    two_lines = _page(130)
    _write(two_lines, 10, "841 Bishop Street", font=HAND_FONT, size=40)
    _write(two_lines, 75, "Honolulu HI 96813", font=HAND_FONT, size=40)
    one_line = _page(60)
    _write(one_line, 5, "7/15/2011", font=HAND_FONT, size=40)
    crops = [_array(two_lines), _array(one_line)]
    hinted = _HintedHeights()

    LineSplittingRecognizer(hinted, LineSplitter()).recognize(crops, type_hints=[None, FieldType.DATE])
    plain = LineSplittingRecognizer(_Heights(), LineSplitter()).recognize(
        crops, type_hints=[None, FieldType.DATE]
    )

    assert hinted.hints == [None, None, FieldType.DATE]
    assert len(plain) == 2


def test_real_crops_of_several_written_lines_are_split(tesseract: TesseractCropRecognizer) -> None:
    crops = {
        crop.text: pixels
        for crop, pixels in load_split(
            CONTRACTS_DEV / "transcriptions.json", CONTRACTS_DEV / "images", split="all"
        )
    }
    splitter = LineSplitter(printed_reader=tesseract)

    assert len(splitter.split(crops['"THE STATION" 527 MAIN CAmpVERDE, ARIZ. 86322'])) == 3
    assert len(splitter.split(crops["Jaidev Watumull Vice president"])) == 2
    assert len(splitter.split(crops["LYNN F. KUSY EXECUTIVE DIRECTOR"])) == 2
    # One written line between cut printed lines and a caption.
    assert len(splitter.split(crops["$728,128.50"])) == 1
    assert len(splitter.split(crops["Patrick Galentine"])) == 1


def test_a_line_wider_than_the_limit_is_cut_between_words() -> None:
    image = _page(70, 1500)
    words = ["Waterfront", "limited", "liability", "company", "Delaware", "tenants"]
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(HAND_FONT, 44)
    x, gaps = 10, []
    for word in words:
        draw.text((x, 8), word, fill=20, font=font)
        x += int(draw.textlength(word, font=font))
        gaps.append((x, x + 60))
        x += 60
    crop = _array(image)

    (whole,) = LineSplitter().split(crop)
    pieces = LineSplitter(LineSplitOptions(max_line_aspect=8)).split(crop)

    assert len(pieces) >= 3
    assert sum(piece.shape[1] for piece in pieces) == whole.shape[1] > x - 60  # the paper after is trimmed
    assert all(piece.shape[1] <= 8 * piece.shape[0] for piece in pieces)
    cuts = np.cumsum([piece.shape[1] for piece in pieces])[:-1]
    assert all(any(start <= cut <= end for start, end in gaps) for cut in cuts)


class _Closable(_Heights):
    closed = False

    def __enter__(self) -> _Closable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.closed = True


def test_closing_the_recognizer_closes_the_inner_engine_and_the_printed_reader() -> None:
    inner, printed = _Closable(), _Closable()
    with LineSplittingRecognizer(inner, LineSplitter(printed_reader=printed)):
        pass
    assert inner.closed and printed.closed
    with LineSplitter(printed_reader=(alone := _Closable())):
        pass
    assert alone.closed
