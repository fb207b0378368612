"""Opening and rendering inputs: good ones page by page, bad ones with a reason a user can act on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.config import InputSettings, RenderSettings
from indexer.errors import InputError
from indexer.processors.render import RenderPages, open_document
from tests.factories import (
    synthetic_pages,
    write_empty_file,
    write_encrypted_pdf,
    write_giant_page_pdf,
    write_scanned_pdf,
    write_truncated_pdf,
)

LIMITS = InputSettings()
RENDER = RenderSettings()


@pytest.fixture(scope="module")
def good_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs")
    return write_scanned_pdf(folder / "lease.pdf", synthetic_pages(2, seed=1), seed=2)


def test_pdf_pages_render_one_at_a_time_at_200_dpi(good_pdf: Path) -> None:
    document = open_document(good_pdf, LIMITS, RENDER)

    pages = list(RenderPages(RENDER, LIMITS).pages(document))

    assert document.page_count == 2
    assert len(document.id) == 64
    assert [(page.number, page.dpi, page.width, page.height) for page in pages] == [
        (1, 200, 1700, 2200),
        (2, 200, 1700, 2200),
    ]
    assert all(page.image is not None and page.image.shape == (2200, 1700, 3) for page in pages)


def test_multipage_tiff_and_dpi_less_jpeg(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((300, 200, 3), value, dtype=np.uint8)) for value in (200, 220, 240)]
    tiff = tmp_path / "scan.tiff"
    frames[0].save(tiff, save_all=True, append_images=frames[1:], dpi=(300, 300))
    jpeg = tmp_path / "page.jpg"
    frames[0].save(jpeg)
    renderer = RenderPages(RENDER, LIMITS)

    tiff_pages = list(renderer.pages(open_document(tiff, LIMITS, RENDER)))
    (jpeg_page,) = renderer.pages(open_document(jpeg, LIMITS, RENDER))

    assert [page.dpi for page in tiff_pages] == [300, 300, 300]
    assert jpeg_page.dpi == RENDER.image_default_dpi


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda folder, good: write_encrypted_pdf(folder / "locked.pdf", good), "encrypted"),
        (lambda folder, good: write_truncated_pdf(folder / "cut.pdf", good), "damaged"),
        (lambda folder, good: write_empty_file(folder / "empty.pdf"), "empty"),
        (lambda folder, good: write_giant_page_pdf(folder / "giant.pdf"), "Mpx"),
        (
            lambda folder, good: (folder / "notes.txt").write_text("hello") and folder / "notes.txt",
            "not a document",
        ),
        (lambda folder, good: (folder / "fake.pdf").write_text("hello") and folder / "fake.pdf", "damaged"),
    ],
    ids=["encrypted", "truncated", "empty", "giant-page", "not-a-document", "text-named-pdf"],
)
def test_bad_input_gets_a_clear_reason(tmp_path: Path, good_pdf: Path, make: object, reason: str) -> None:
    bad = make(tmp_path, good_pdf)  # type: ignore[operator]

    with pytest.raises(InputError, match=reason) as caught:
        open_document(bad, LIMITS, RENDER)

    assert caught.value.path == str(bad)


def test_too_many_pages_names_the_setting(good_pdf: Path) -> None:
    with pytest.raises(InputError, match="INDEXER_INPUT__MAX_PAGES"):
        open_document(good_pdf, InputSettings(max_pages=1), RENDER)
