"""The searchable PDF's text layer lands on the words' boxes, on turned pages too (/Rotate)."""

from __future__ import annotations

import io
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
import pypdfium2
import pytest
from pdf2image import convert_from_path
from PIL import Image, ImageDraw

from indexer.document import Box, Document, Page, Word
from indexer.server.pdf import searchable_pdf

DPI = 200
POINTS_PER_PX = 72 / DPI
#: The ink box on the unturned page, in pixels; it is where the word must land in PDF user space.
INK = (200, 300, 600, 360)
PAGE_PX = (1700, 2200)
TOLERANCE_PT = 2.0


def _turned_pdf(path: Path, rotate: int) -> Path:
    image = Image.new("RGB", PAGE_PX, "white")
    ImageDraw.Draw(image).rectangle(INK, outline="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = img2pdf.convert(buffer.getvalue(), layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI)))
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.pages[0].obj.Rotate = rotate
        pdf.save(path)
    return path


def _text_centre_pt(pdf: bytes) -> tuple[float, float]:
    """The middle of the first page's text layer, in PDF points."""
    text_page = pypdfium2.PdfDocument(pdf)[0].get_textpage()
    glyphs = np.array([text_page.get_charbox(index) for index in range(text_page.count_chars())])
    return ((glyphs[:, 0].min() + glyphs[:, 2].max()) / 2, (glyphs[:, 1].min() + glyphs[:, 3].max()) / 2)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_the_text_layer_sits_on_the_ink_whatever_the_page_rotation(tmp_path: Path, rotate: int) -> None:
    """GIVEN a page shown turned by /Rotate, read (as the pipeline does) from its rendering
    WHEN the searchable PDF is made THEN the word is found and its glyphs lie within the ink's box."""
    source = _turned_pdf(tmp_path / "turned.pdf", rotate)
    (shown,) = convert_from_path(source, dpi=DPI)
    ys, xs = np.nonzero(np.asarray(shown.convert("L")) < 128)
    box = Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    page = Page(
        number=1, dpi=DPI, width=shown.width, height=shown.height, words=[Word("Leasehold", box, 0.9)]
    )
    document = Document(
        id="0" * 64, path=str(source), filename="turned.pdf", size_bytes=1, page_count=1, pages=[page]
    )

    text_page = pypdfium2.PdfDocument(searchable_pdf(document, tmp_path))[0].get_textpage()

    assert text_page.get_text_range() == "Leasehold"
    glyphs = np.array([text_page.get_charbox(index) for index in range(text_page.count_chars())])
    height_pt = PAGE_PX[1] * POINTS_PER_PX
    x0, y0, x1, y1 = INK
    ink = (
        x0 * POINTS_PER_PX,
        height_pt - y1 * POINTS_PER_PX,
        x1 * POINTS_PER_PX,
        height_pt - y0 * POINTS_PER_PX,
    )
    assert glyphs[:, 0].min() >= ink[0] - TOLERANCE_PT and glyphs[:, 2].max() <= ink[2] + TOLERANCE_PT
    assert glyphs[:, 1].min() >= ink[1] - TOLERANCE_PT and glyphs[:, 3].max() <= ink[3] + TOLERANCE_PT


def test_the_text_layer_of_a_straightened_page_sits_on_the_slanted_scans_ink(tmp_path: Path) -> None:
    """GIVEN a scan 3 degrees off, whose word the pipeline boxed on the page it straightened
    WHEN the searchable PDF is made over the original scan THEN the word's glyphs lie on the ink
    where the slanted scan has it (16 pt away from the straightened box's place)."""
    slant = 3.0
    straight = Image.new("RGB", PAGE_PX, "white")
    ImageDraw.Draw(straight).rectangle(INK, fill="black")
    scan = straight.rotate(slant, resample=Image.BICUBIC, fillcolor="white")
    buffer = io.BytesIO()
    scan.save(buffer, format="PNG")
    source = tmp_path / "slanted.pdf"
    source.write_bytes(
        img2pdf.convert(buffer.getvalue(), layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI)))
    )
    page = Page(
        number=1,
        dpi=DPI,
        width=PAGE_PX[0],
        height=PAGE_PX[1],
        skew_degrees=-slant,
        words=[Word("Leasehold", Box(*INK), 0.9)],
    )
    document = Document(
        id="0" * 64, path=str(source), filename="slanted.pdf", size_bytes=1, page_count=1, pages=[page]
    )

    centre_pt = _text_centre_pt(searchable_pdf(document, tmp_path))

    ys, xs = np.nonzero(np.asarray(scan.convert("L")) < 128)
    ink_pt = (
        (xs.min() + xs.max()) / 2 * POINTS_PER_PX,
        (PAGE_PX[1] - (ys.min() + ys.max()) / 2) * POINTS_PER_PX,
    )
    assert centre_pt == pytest.approx(ink_pt, abs=TOLERANCE_PT)


def test_the_text_layer_over_straightened_artifact_images_is_not_turned(tmp_path: Path) -> None:
    """GIVEN a straightened page whose source file is gone WHEN the PDF is made from the artifact
    image (the page as the pipeline straightened it) THEN the word lies on that image's ink."""
    straight = Image.new("RGB", PAGE_PX, "white")
    ImageDraw.Draw(straight).rectangle(INK, fill="black")
    straight.save(tmp_path / "page-0001.jpg")
    page = Page(
        number=1,
        dpi=DPI,
        width=PAGE_PX[0],
        height=PAGE_PX[1],
        skew_degrees=-3.0,
        words=[Word("Leasehold", Box(*INK), 0.9)],
    )
    document = Document(
        id="0" * 64,
        path=str(tmp_path / "gone.pdf"),
        filename="gone.pdf",
        size_bytes=1,
        page_count=1,
        pages=[page],
    )

    centre_pt = _text_centre_pt(searchable_pdf(document, tmp_path))

    ink_pt = ((INK[0] + INK[2]) / 2 * POINTS_PER_PX, (PAGE_PX[1] - (INK[1] + INK[3]) / 2) * POINTS_PER_PX)
    assert centre_pt == pytest.approx(ink_pt, abs=TOLERANCE_PT)
