"""The page OCR reads the grey page: one channel to threshold, the same words on a grey scan."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from indexer.backends.tesseract import TesseractOcr, _grey_image
from indexer.config import TesseractSettings

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def test_a_colour_page_goes_to_tesseract_as_one_grey_channel() -> None:
    page = np.zeros((4, 6, 3), np.uint8)
    page[..., 2] = 200  # blue ink
    grey = _grey_image(page)
    assert grey.mode == "L"
    assert np.asarray(grey).shape == (4, 6)
    # ITU-R 601 luma, as a grey scanner would record it: blue counts little.
    assert int(np.asarray(grey)[0, 0]) == round(0.114 * 200)
    already_grey = np.full((4, 6), 77, np.uint8)
    assert np.array_equal(np.asarray(_grey_image(already_grey)), already_grey)


def test_print_and_blue_writing_on_a_colour_page_are_read() -> None:
    canvas = Image.new("RGB", (1200, 300), (245, 240, 230))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(SERIF, 34)
    draw.text((40, 60), "Lease number 4471 is amended.", font=font, fill=(15, 15, 15))
    draw.text((40, 180), "Monthly rent payable", font=font, fill=(30, 50, 170))
    with TesseractOcr(TesseractSettings()) as ocr:
        colour = ocr.read_page(np.asarray(canvas), dpi=200)
        grey = ocr.read_page(np.asarray(canvas.convert("L")), dpi=200)
    assert "Lease number 4471 is amended." in colour.text
    assert "Monthly rent payable" in colour.text
    assert [word.text for word in colour.words] == [word.text for word in grey.words]
