"""Test material generated in code: scanned-looking contract PDFs, bad files, and oracle engines.

Pages come from the training package's synthetic generator (printed lease text with inline
handwriting at known boxes). The oracle detector and recognizer stand in for the models in
pipeline tests: they return the truth, so a failure points at rendering, masking, the page OCR
or the merge, which are real.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
from PIL import Image

from indexer.backends.base import Detection, Recognition
from indexer.backends.htr.grammar import FieldType as GrammarType
from indexer.document import Box, HandwritingMap
from indexer.training.data.synthetic import (
    HandwrittenItem,
    PrintedWord,
    SyntheticPage,
    render_page,
    scan_effects,
)

DPI = 200
_JPEG_QUALITY = 85


def synthetic_pages(count: int, *, seed: int, max_print_cover: float | None = None) -> list[SyntheticPage]:
    """Generated lease pages; with `max_print_cover`, only pages whose handwriting covers no
    printed word by more than that share of the word (handwriting written into blanks)."""
    rng = np.random.default_rng(seed)
    pages: list[SyntheticPage] = []
    while len(pages) < count:
        page = render_page(rng, dpi=DPI)
        if max_print_cover is None or _print_cover(page) <= max_print_cover:
            pages.append(page)
    return pages


def _print_cover(page: SyntheticPage) -> float:
    words = [entry.box for line in page.lines for entry in line if isinstance(entry, PrintedWord)]
    return max(
        (item.box.intersection(word) / word.area for item in page.handwriting for word in words),
        default=0.0,
    )


def _jpeg_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=_JPEG_QUALITY, dpi=(DPI, DPI))
    return buffer.getvalue()


def write_scanned_pdf(path: Path, pages: Sequence[SyntheticPage], *, seed: int) -> Path:
    """A PDF of JPEG pages with scan noise and slight skew, laid out at 200 dpi."""
    rng = np.random.default_rng(seed)
    images = [_jpeg_bytes(scan_effects(page.image, rng)) for page in pages]
    layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
    path.write_bytes(img2pdf.convert(images, layout_fun=layout))
    return path


def write_image_pdf(path: Path, images: Sequence[np.ndarray]) -> Path:
    """A PDF of the given RGB pages at 200 dpi, without added noise."""
    layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
    path.write_bytes(img2pdf.convert([_jpeg_bytes(image) for image in images], layout_fun=layout))
    return path


def write_encrypted_pdf(path: Path, source: Path) -> Path:
    with pikepdf.open(source) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="owner-secret", user="user-secret", R=6))
    return path


def write_truncated_pdf(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def write_empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def write_giant_page_pdf(path: Path) -> Path:
    """A tiny file whose one page is 200 x 200 inches: 1.6 gigapixels at 200 dpi."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200 * 72, 200 * 72))
    pdf.save(path)
    return path


@dataclass
class Oracle:
    """Knows the truth of each page, in the order the pipeline renders them."""

    pages: list[SyntheticPage]
    _next_page: int = 0
    _current: list[HandwrittenItem] = field(default_factory=list)

    def detect(self, image: np.ndarray) -> list[Detection]:
        self._current = self.pages[self._next_page].handwriting
        self._next_page += 1
        return [Detection(item.kind, item.box, 0.99) for item in self._current]

    def texts_in_span_order(self) -> list[str]:
        """Annotation texts ordered as `DetectHandwriting` orders spans: by top, then left."""
        items = sorted(self._current, key=lambda item: (item.box.y0, item.box.x0))
        return [item.text for item in items if item.kind != "signature"]


class OracleDetector:
    name = "oracle-detector"
    version = "test"

    def __init__(self, oracle: Oracle) -> None:
        self._oracle = oracle

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self._oracle.detect(image)


class OracleRecognizer:
    """Returns the true texts of the current page, in the order the crops arrive."""

    name = "oracle-htr"
    version = "test"

    def __init__(self, oracle: Oracle) -> None:
        self._oracle = oracle
        self._offset = 0
        self._page_texts: list[str] = []
        self._page_seen: int = -1

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        if self._page_seen != self._oracle._next_page:
            self._page_seen = self._oracle._next_page
            self._page_texts = self._oracle.texts_in_span_order()
            self._offset = 0
        texts = self._page_texts[self._offset : self._offset + len(crops)]
        self._offset += len(crops)
        # Signature crops come after the annotations' (when signatures are read): a scribble.
        texts += ["~"] * (len(crops) - len(texts))
        return [Recognition(text, 1.0, self.name) for text in texts]


class FixedDetector:
    """Returns the same boxes on every page."""

    name = "fixed-detector"
    version = "test"

    def __init__(self, detections: Sequence[Detection]) -> None:
        self._detections = list(detections)

    def detect(self, image: np.ndarray) -> list[Detection]:
        return list(self._detections)


class MappedFixedDetector(FixedDetector):
    """Returns the same boxes on every page, and a map that calls `handwritten` handwriting
    (probability 0.9) and the rest of the page print (0.01), as our FCN's map does."""

    def __init__(
        self, detections: Sequence[Detection], handwritten: Sequence[Box], *, cell_px: int = 8
    ) -> None:
        super().__init__(detections)
        self._handwritten = list(handwritten)
        self._cell_px = cell_px

    def detect_with_map(self, image: np.ndarray) -> tuple[list[Detection], HandwritingMap]:
        cell = self._cell_px
        probability = np.full((-(-image.shape[0] // cell), -(-image.shape[1] // cell)), 0.01, np.float32)
        for box in self._handwritten:
            probability[box.y0 // cell : -(-box.y1 // cell), box.x0 // cell : -(-box.x1 // cell)] = 0.9
        return self.detect(image), HandwritingMap(probability, cell)


class EchoRecognizer:
    """Reads every crop as the same text."""

    name = "echo-htr"
    version = "test"

    def __init__(self, text: str) -> None:
        self._text = text

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        return [Recognition(self._text if crop.size else "", 0.9, self.name) for crop in crops]


class HintRecordingRecognizer:
    """Reads every crop as the same text and keeps the type hints it is given (the interface of
    the engines with typed decoding)."""

    name = "hint-recording-htr"
    version = "test"

    def __init__(self, text: str) -> None:
        self._text = text
        self.hints: list[GrammarType | None] = []

    def recognize(
        self, crops: Sequence[np.ndarray], *, type_hints: Sequence[GrammarType | None] | None = None
    ) -> list[Recognition]:
        self.hints += list(type_hints or [None] * len(crops))
        return [Recognition(self._text, 0.9, self.name) for _ in crops]


def neighbours(page: SyntheticPage, item: HandwrittenItem) -> tuple[str | None, str | None]:
    """The printed words just before and after a handwritten item, in reading order."""
    flat = [entry for line in page.lines for entry in line]
    index = flat.index(item)
    before = next((entry.text for entry in reversed(flat[:index]) if isinstance(entry, PrintedWord)), None)
    after = next((entry.text for entry in flat[index + 1 :] if isinstance(entry, PrintedWord)), None)
    return before, after


__all__ = [
    "Box",
    "EchoRecognizer",
    "FixedDetector",
    "Oracle",
    "OracleDetector",
    "OracleRecognizer",
    "neighbours",
    "synthetic_pages",
    "write_empty_file",
    "write_encrypted_pdf",
    "write_giant_page_pdf",
    "write_image_pdf",
    "write_scanned_pdf",
    "write_truncated_pdf",
]
