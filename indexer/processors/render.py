"""Open an input file, check it, and render its pages one at a time.

PDFs are checked with pikepdf (encrypted, corrupt, empty) and rendered with pdf2image (poppler)
page by page; multi-page TIFF, PNG and JPEG are read with Pillow.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence, UnidentifiedImageError

from indexer.config import InputSettings, RenderSettings
from indexer.document import Document, Page
from indexer.errors import DependencyError, FileChangedError, InputError
from indexer.hashing import FileIdentity, sha256_file

__all__ = ["SUPPORTED_SUFFIXES", "RenderPages", "open_document"]

log = logging.getLogger(__name__)

PDF_SUFFIXES = frozenset({".pdf"})
IMAGE_SUFFIXES = frozenset({".tif", ".tiff", ".png", ".jpg", ".jpeg"})
SUPPORTED_SUFFIXES = PDF_SUFFIXES | IMAGE_SUFFIXES
_MEDIA_TYPES = {".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff", ".png": "image/png"}
_POINTS_PER_INCH = 72
_MIN_TRUSTED_DPI = 150


def _pdf_page_count(path: Path) -> tuple[int, float]:
    """Page count and the largest page area in square inches, or an InputError saying why not."""
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            sizes = [page.mediabox for page in pdf.pages]
            count = len(sizes)
    except pikepdf.PasswordError as exc:
        raise InputError(
            "the PDF is encrypted with a password; save an unencrypted copy and drop that instead",
            path=str(path),
        ) from exc
    except pikepdf.PdfError as exc:
        raise InputError(
            f"the PDF is damaged and cannot be read ({exc}); re-scan or re-export it",
            path=str(path),
            may_be_incomplete=True,
        ) from exc
    largest = max(
        (abs(float(box[2]) - float(box[0])) * abs(float(box[3]) - float(box[1])) for box in sizes),
        default=0.0,
    )
    return count, largest / _POINTS_PER_INCH**2


def _image_page_count(path: Path) -> int:
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            return int(getattr(image, "n_frames", 1))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(
            f"the image cannot be read ({exc}); re-scan or re-export it",
            path=str(path),
            may_be_incomplete=True,
        ) from exc
    except Image.DecompressionBombError as exc:
        raise InputError(f"the image is absurdly large ({exc})", path=str(path)) from exc


def open_document(
    path: Path, limits: InputSettings, render: RenderSettings, *, identity: FileIdentity | None = None
) -> Document:
    """Check an input file and describe it; nothing is rendered yet.

    Args:
        identity: the file's hash taken earlier (by the watch daemon); used as the document id
            instead of hashing again, as long as the file's size and mtime still match it.

    Raises:
        InputError: empty, too large, not a document, encrypted or corrupt; the message says
            what to do.
        FileChangedError: the file no longer matches `identity`.
    """
    if identity is not None and not identity.matches(path):
        raise FileChangedError(f"{path.name} changed after it was queued; it will be hashed again")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"not a document we read ({suffix or 'no extension'}); supported: "
            f"{', '.join(sorted(SUPPORTED_SUFFIXES))}",
            path=str(path),
        )
    try:
        size_bytes = path.stat().st_size
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc})", path=str(path)) from exc
    if not path.is_file():
        raise InputError("not a regular file (a folder or a device?)", path=str(path))
    if size_bytes == 0:
        raise InputError(
            "the file is empty (0 bytes); was the copy interrupted?", path=str(path), may_be_incomplete=True
        )
    if size_bytes > limits.max_file_mb * 1e6:
        raise InputError(
            f"the file is {size_bytes / 1e6:.0f} MB, over the {limits.max_file_mb:.0f} MB limit "
            "(INDEXER_INPUT__MAX_FILE_MB); split it or raise the limit",
            path=str(path),
        )
    if suffix in PDF_SUFFIXES:
        page_count, largest_sq_in = _pdf_page_count(path)
        largest_px = largest_sq_in * render.dpi**2
    else:
        page_count, largest_px = _image_page_count(path), 0.0
    if page_count == 0:
        raise InputError("the document has no pages", path=str(path), may_be_incomplete=True)
    if page_count > limits.max_pages:
        raise InputError(
            f"the document has {page_count} pages, over the {limits.max_pages} limit "
            "(INDEXER_INPUT__MAX_PAGES); split it or raise the limit",
            path=str(path),
        )
    if largest_px > limits.max_page_pixels:
        raise InputError(
            f"a page would render at {largest_px / 1e6:.0f} Mpx at {render.dpi} dpi, over the "
            f"{limits.max_page_pixels / 1e6:.0f} Mpx limit (INDEXER_INPUT__MAX_PAGE_PIXELS)",
            path=str(path),
        )
    return Document(
        id=identity.sha256 if identity is not None else sha256_file(path),
        path=str(path.resolve()),
        filename=path.name,
        size_bytes=size_bytes,
        page_count=page_count,
        media_type=_MEDIA_TYPES.get(suffix, "image/jpeg"),
    )


_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_WHITE = (255, 255, 255, 255)


def _rgb(image: Image.Image) -> np.ndarray:
    """An 8-bit RGB array of any Pillow mode a scanner writes.

    Pillow's own `convert("RGB")` clips 16-bit grey to white and paints transparent pixels with
    their palette colour (often black): both would erase the page's text.
    """
    if image.mode in _HIGH_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        scale = 255.0 / (65535.0 if top > 255 else 255.0)
        grey = np.clip(values * scale, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, _WHITE)
        return np.asarray(Image.alpha_composite(paper, image.convert("RGBA")).convert("RGB"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


class RenderPages:
    """Yields the pages of a document as RGB arrays, one at a time."""

    name = "render_pages"

    def __init__(self, settings: RenderSettings, limits: InputSettings) -> None:
        self._settings = settings
        self._limits = limits

    def describe(self) -> str:
        return f"{self.name}: pdf2image (poppler) at {self._settings.dpi} dpi, images with Pillow"

    def pages(self, document: Document) -> Iterator[Page]:
        path = Path(document.path)
        if document.media_type == "application/pdf":
            yield from self._pdf_pages(path, document.page_count)
        else:
            yield from self._image_pages(path)

    def _pdf_pages(self, path: Path, page_count: int) -> Iterator[Page]:
        from pdf2image import convert_from_path
        from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError

        dpi = self._settings.dpi
        for number in range(1, page_count + 1):
            started = time.perf_counter()
            try:
                (image,) = convert_from_path(
                    path, dpi=dpi, first_page=number, last_page=number, timeout=int(self._settings.timeout_s)
                )
            except PDFInfoNotInstalledError as exc:
                raise DependencyError("poppler is missing; apt-get install poppler-utils") from exc
            except (PDFPageCountError, PDFSyntaxError, ValueError) as exc:
                raise InputError(
                    f"page {number} cannot be rendered ({exc})", path=str(path), may_be_incomplete=True
                ) from exc
            array = _rgb(image)
            page = Page(number=number, dpi=dpi, width=array.shape[1], height=array.shape[0], image=array)
            page.timings_s[self.name] = time.perf_counter() - started
            yield page

    def _image_pages(self, path: Path) -> Iterator[Page]:
        try:
            yield from self._decode_image_pages(path)
        except Image.DecompressionBombError as exc:
            raise InputError(f"the image is absurdly large ({exc})", path=str(path)) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            # `verify()` in open_document reads headers only: a truncated body fails here.
            raise InputError(
                f"the image cannot be decoded ({exc}); it may be truncated: re-scan or re-export it",
                path=str(path),
                may_be_incomplete=True,
            ) from exc

    def _decode_image_pages(self, path: Path) -> Iterator[Page]:
        with Image.open(path) as image:
            for index, frame in enumerate(ImageSequence.Iterator(image), start=1):
                started = time.perf_counter()
                dpi_info = frame.info.get("dpi")
                # Scanners often write 72 or 96 dpi into full-resolution JPEGs: trust only plausible values.
                declared = round(float(dpi_info[0])) if dpi_info else 0
                dpi = declared if declared >= _MIN_TRUSTED_DPI else self._settings.image_default_dpi
                array = _rgb(frame)
                if array.shape[0] * array.shape[1] > self._limits.max_page_pixels:
                    raise InputError(
                        f"page {index} has {array.size // 3} pixels, over the limit", path=str(path)
                    )
                page = Page(number=index, dpi=dpi, width=array.shape[1], height=array.shape[0], image=array)
                page.timings_s[self.name] = time.perf_counter() - started
                yield page
