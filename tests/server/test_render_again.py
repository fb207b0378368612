"""A page rendered again from its source (review crops, a missing artifact image) is turned as
the pipeline turned it, so its boxes fit."""

from __future__ import annotations

import io
from pathlib import Path

import img2pdf
import numpy as np
from PIL import Image, ImageDraw

from indexer.config import Settings
from indexer.document import Document, Page
from indexer.server.pages import render_page

DPI = 200
PAGE_PX = (1700, 2200)
RULE = (150, 1900, 1550, 1904)


def _rule_rows(image: np.ndarray) -> int:
    band = image[RULE[1] - 80 : RULE[3] + 80, RULE[0] + 100 : RULE[2] - 100, 0] < 100
    return int(np.ptp(np.nonzero(band)[0])) + 1


def test_a_page_rendered_again_is_straightened_by_its_recorded_skew(tmp_path: Path) -> None:
    """GIVEN a source scanned 2 degrees off, which the pipeline turned straight (skew_degrees -2)
    WHEN the page is rendered again THEN its rule is level, as in the pipeline's image."""
    straight = Image.new("RGB", PAGE_PX, "white")
    ImageDraw.Draw(straight).rectangle(RULE, fill="black")
    buffer = io.BytesIO()
    straight.rotate(2.0, resample=Image.BICUBIC, fillcolor="white").save(buffer, format="PNG")
    source = tmp_path / "slanted.pdf"
    source.write_bytes(
        img2pdf.convert(buffer.getvalue(), layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI)))
    )
    document = Document(id="0" * 64, path=str(source), filename="slanted.pdf", size_bytes=1, page_count=1)
    slanted = Page(number=1, dpi=DPI, width=PAGE_PX[0], height=PAGE_PX[1])
    straightened = Page(number=1, dpi=DPI, width=PAGE_PX[0], height=PAGE_PX[1], skew_degrees=-2.0)

    assert _rule_rows(render_page(Settings(), document, slanted)) > 35
    assert _rule_rows(render_page(Settings(), document, straightened)) <= 10
