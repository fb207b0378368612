"""Searchable PDFs: the original pages with an invisible text layer of printed words and handwriting.

The text layer is drawn with reportlab (text render mode 3: neither filled nor stroked, so it is
invisible but found by Ctrl-F and copied by selection) and laid over each original page with
pikepdf's `Page.add_overlay`, the way OCRmyPDF grafts its layer: the scan itself is never
re-encoded. Image sources (PNG, JPEG, TIFF) are first wrapped into PDF pages with img2pdf; when
the source file is gone, the downscaled artifact images stand in for it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import img2pdf
import pikepdf
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from indexer.artifacts import page_stem
from indexer.document import Box, Document, Page
from indexer.errors import InputError

__all__ = ["SEARCHABLE_PDF_NAME", "searchable_pdf"]

log = logging.getLogger(__name__)

#: The file written beside a document's artifacts when INDEXER_OUTPUT__SEARCHABLE_PDF is true.
SEARCHABLE_PDF_NAME = "searchable.pdf"
_POINTS_PER_INCH = 72
#: A Unicode font with every Latin glyph; only its metrics matter, the text is never painted.
_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
_FONT_NAME = "IndexerInvisible"
_FALLBACK_FONT = "Helvetica"
_INVISIBLE = 3  # PDF text render mode 3: no fill, no stroke
#: Font size as a share of the box height: words' boxes hold ascenders and descenders.
_SIZE_PER_HEIGHT = 0.8


def _font() -> str:
    if _FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return _FONT_NAME
    if _FONT_FILE.is_file():
        pdfmetrics.registerFont(TTFont(_FONT_NAME, str(_FONT_FILE)))
        return _FONT_NAME
    log.warning("%s is missing; the text layer uses Helvetica (Latin-1 only)", _FONT_FILE)
    return _FALLBACK_FONT


def _text_items(page: Page) -> list[tuple[str, Box]]:
    """Printed words outside the handwriting boxes and the handwriting readings, in reading order.

    Words inside a box are the anchor tokens the pipeline painted there (or print the
    handwriting covers): the reading replaces them. Viewers copy text in the order it is drawn,
    so a reading is drawn among the words of its line.
    """
    covered = [span.anchor_box or span.box for span in page.spans]
    items = [
        (word.text, word.box)
        for word in page.words
        if word.text.strip() and not any(box.holds_centre_of(word.box) for box in covered)
    ]
    items += [(span.text, span.box) for span in page.spans if span.text.strip() and not span.is_signature]
    return [item for line in _lines(items) for item in sorted(line, key=lambda item: item[1].x0)]


def _lines(items: list[tuple[str, Box]]) -> list[list[tuple[str, Box]]]:
    """Items grouped into lines, top to bottom: an item whose centre lies within the vertical
    extent of a line's first item joins that line."""
    lines: list[tuple[Box, list[tuple[str, Box]]]] = []
    for item in sorted(items, key=lambda item: item[1].center[1]):
        if lines and lines[-1][0].y0 <= item[1].center[1] <= lines[-1][0].y1:
            lines[-1][1].append(item)
        else:
            lines.append((item[1], [item]))
    return [members for _, members in lines]


def _layer(page: Page, width_pt: float, height_pt: float, *, straightened: bool = False) -> bytes:
    """One PDF page of invisible text, sized like the original page.

    The boxes are in the pixels of the page as the pipeline straightened it; unless the page
    under the layer is that straightened image (`straightened`), the layer is turned back by the
    page's `skew_degrees` so that the words lie on the slanted scan's ink.
    """
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=(width_pt, height_pt), pageCompression=1)
    if page.skew_degrees and not straightened:
        # The pipeline turned the scan skew_degrees counter-clockwise; turn the text back.
        sheet.translate(width_pt / 2, height_pt / 2)
        sheet.rotate(-page.skew_degrees)
        sheet.translate(-width_pt / 2, -height_pt / 2)
    font = _font()
    scale_x, scale_y = width_pt / page.width, height_pt / page.height
    for text, box in _text_items(page):
        size = max(box.height * scale_y * _SIZE_PER_HEIGHT, 1.0)
        natural = pdfmetrics.stringWidth(text, font, size)
        line = sheet.beginText()
        line.setTextRenderMode(_INVISIBLE)
        line.setFont(font, size)
        if natural > 0:
            # Stretch the word to its box, so a viewer's selection covers what was written.
            line.setHorizScale(100.0 * box.width * scale_x / natural)
        # PDF's origin is the bottom left; the baseline sits a little above the box's bottom.
        line.setTextOrigin(box.x0 * scale_x, height_pt - box.y1 * scale_y + 0.2 * size)
        line.textOut(text)
        sheet.drawText(line)
    sheet.showPage()
    sheet.save()
    return buffer.getvalue()


def _base_pdf(document: Document, artifacts: Path) -> tuple[pikepdf.Pdf, bool]:
    """The original pages: the source PDF, an image source wrapped as PDF, or the artifact images
    (straightened as the pipeline saw them: the second value says so)."""
    source = Path(document.path)
    if source.is_file() and document.media_type == "application/pdf":
        return pikepdf.open(source), False
    if source.is_file():
        dpi = document.pages[0].dpi if document.pages else _POINTS_PER_INCH
        layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
        return pikepdf.open(io.BytesIO(img2pdf.convert(str(source), layout_fun=layout))), False
    images = [artifacts / f"{page_stem(page.number)}.jpg" for page in document.pages]
    missing = [image.name for image in images if not image.is_file()]
    if missing:
        raise InputError(
            f"the source {source} is gone and the artifact images {missing} are missing; "
            "ingest the file again to make its PDF",
            path=str(source),
        )
    log.warning("the source %s is gone; the PDF is made from the downscaled artifact images", source)
    pages = [
        # Each image at the size its page had: points = pixels * 72 / dpi.
        img2pdf.convert(
            str(image),
            layout_fun=img2pdf.get_layout_fun(
                (img2pdf.px_to_pt(page.width, page.dpi), img2pdf.px_to_pt(page.height, page.dpi))
            ),
        )
        for image, page in zip(images, document.pages, strict=True)
    ]
    merged = pikepdf.new()
    for data in pages:
        merged.pages.extend(pikepdf.open(io.BytesIO(data)).pages)
    return merged, True


def searchable_pdf(document: Document, artifacts: Path) -> bytes:
    """The document's pages with an invisible text layer holding what was read on each.

    Args:
        document: the document with its pages (from the artifacts, corrections applied).
        artifacts: its artifact folder, whose images stand in for a source file that is gone.

    Raises:
        InputError: neither the source file nor the artifact images can be read.
    """
    try:
        pdf, straightened = _base_pdf(document, artifacts)
    except (pikepdf.PdfError, img2pdf.ImageOpenError, OSError) as exc:
        raise InputError(f"cannot read the pages of {document.filename}: {exc}", path=document.path) from exc
    with pdf:
        if len(pdf.pages) != len(document.pages):
            raise InputError(
                f"{document.filename} has {len(pdf.pages)} pages but its artifacts hold "
                f"{len(document.pages)}; ingest it again",
                path=document.path,
            )
        for target, page in zip(pdf.pages, document.pages, strict=True):
            box = target.mediabox
            width_pt, height_pt = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
            if int(target.obj.get("/Rotate", 0)) % 180 == 90:
                # Our boxes are in the page as shown (rendered turned); add_overlay turns the layer
                # back with the page's /Rotate, so the layer is drawn in the shown orientation.
                width_pt, height_pt = height_pt, width_pt
            with pikepdf.open(
                io.BytesIO(_layer(page, width_pt, height_pt, straightened=straightened))
            ) as layer:
                target.add_overlay(layer.pages[0], pikepdf.Rectangle(target.mediabox))
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()
