"""Pages as the API shows them: read back from the artifacts, their images, and crops of their boxes."""

from __future__ import annotations

import io
import itertools
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from indexer.artifacts import load_document, page_stem
from indexer.config import Settings
from indexer.document import Box, Document, Page, Span
from indexer.errors import DependencyError, InputError
from indexer.processors.deskew import rotated
from indexer.server.errors import NotFoundError

__all__ = ["crop", "load_indexed_document", "page_image_jpeg", "page_json", "render_page", "span_json"]

log = logging.getLogger(__name__)

_JPEG_QUALITY = 85
#: Pixels kept around a box when it is cut out for the corrections store (as the HTR training pads).
CROP_PAD_PX = 6
#: Span fields the review page never needs (offsets into the content are internal to the merge).
_INTERNAL_SPAN_FIELDS = frozenset({"box", "anchor_box", "start", "end"})


def load_indexed_document(settings: Settings, document_id: str) -> tuple[Document, Path]:
    """A document and its pages from its artifact folder, corrections applied.

    Raises:
        NotFoundError: no artifacts for this id (never ingested, or ingested elsewhere).
    """
    if len(document_id) != 64 or any(ch not in "0123456789abcdef" for ch in document_id):
        raise NotFoundError(f"{document_id!r} is not a document id (the sha256 of the file)")
    folder = settings.artifacts_dir / document_id
    if not (folder / "document.json").is_file():
        raise NotFoundError(
            f"no artifacts for document {document_id[:12]} in {settings.artifacts_dir}; "
            "it is not indexed yet (see GET /api/documents/{id} for its status)"
        )
    try:
        return load_document(folder), folder
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the artifacts in {folder} are unreadable ({exc}); ingest the file again") from exc


def find_page(document: Document, number: int) -> Page:
    for page in document.pages:
        if page.number == number:
            return page
    raise NotFoundError(f"{document.filename} has no page {number} (it has {len(document.pages)})")


def find_span(page: Page, span_id: str) -> Span:
    for span in page.spans:
        if span.id == span_id:
            return span
    raise NotFoundError(f"page {page.number} has no handwriting span {span_id!r}")


def _bbox(box: Box) -> dict[str, int]:
    return {"x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1}


def span_json(span: Span) -> dict[str, Any]:
    """A span for the API: every field the model has (labels and types too, once it has them)."""
    data = {key: value for key, value in asdict(span).items() if key not in _INTERNAL_SPAN_FIELDS}
    return {**data, "kind": span.kind.value, "placement": span.placement.value, "bbox": _bbox(span.box)}


def page_json(document: Document, page: Page) -> dict[str, Any]:
    return {
        "document": {"id": document.id, "filename": document.filename, "pages": document.page_count},
        "number": page.number,
        "dpi": page.dpi,
        "width": page.width,
        "height": page.height,
        "content": page.content,
        "spans": [span_json(span) for span in page.spans],
        "fields": [{**asdict(item), "box": _bbox(item.box)} for item in page.fields],
        "image_url": f"/api/documents/{document.id}/pages/{page.number}/image",
    }


def render_page(settings: Settings, document: Document, page: Page) -> np.ndarray:
    """The page rendered again from its source file, at the resolution its boxes are in, and
    turned straight as the pipeline turned it (`page.skew_degrees`), so the boxes fit it.

    Raises:
        InputError: the source file is gone or cannot be rendered.
    """
    image = _render_source(settings, document, page)
    return rotated(image, page.skew_degrees) if page.skew_degrees else image


def _render_source(settings: Settings, document: Document, page: Page) -> np.ndarray:
    source = Path(document.path)
    if not source.is_file():
        raise InputError(f"the source file {source} is gone", path=str(source))
    if document.media_type == "application/pdf":
        from pdf2image import convert_from_path
        from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError

        try:
            (image,) = convert_from_path(
                source,
                dpi=page.dpi,
                first_page=page.number,
                last_page=page.number,
                timeout=int(settings.render.timeout_s),
            )
        except PDFInfoNotInstalledError as exc:
            raise DependencyError("poppler is missing; apt-get install poppler-utils") from exc
        except (PDFPageCountError, PDFSyntaxError, ValueError) as exc:
            raise InputError(f"page {page.number} cannot be rendered ({exc})", path=str(source)) from exc
        return np.asarray(image.convert("RGB"))
    from indexer.processors.render import RenderPages

    pages = RenderPages(settings.render, settings.input).pages(document)
    rendered = next(itertools.islice(pages, page.number - 1, page.number), None)
    if rendered is None or rendered.image is None:
        raise InputError(f"page {page.number} of {source} cannot be rendered", path=str(source))
    return rendered.image


def _artifact_image(folder: Path, page: Page) -> Image.Image | None:
    path = folder / f"{page_stem(page.number)}.jpg"
    if not path.is_file():
        return None
    with Image.open(path) as opened:
        return opened.convert("RGB")


def page_image_jpeg(settings: Settings, document: Document, folder: Path, page: Page) -> bytes:
    """The page as JPEG: the artifact image, or the page rendered again and downscaled like it."""
    picture = _artifact_image(folder, page)
    if picture is None:
        picture = Image.fromarray(render_page(settings, document, page))
        picture.thumbnail((settings.artifacts.image_max_side_px, settings.artifacts.image_max_side_px))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    return buffer.getvalue()


def crop(settings: Settings, document: Document, folder: Path, page: Page, box: Box) -> Image.Image:
    """A box cut out of the page at full resolution (the artifact image, upscaled, if the source is gone).

    Raises:
        InputError: neither the source file nor the artifact image can be read.
    """
    try:
        picture = Image.fromarray(render_page(settings, document, page))
    except InputError as exc:
        downscaled = _artifact_image(folder, page)
        if downscaled is None:
            raise InputError(f"{exc.message}, and its artifact image is missing", path=document.path) from exc
        log.warning("%s; the crop of page %d comes from its downscaled image", exc.message, page.number)
        picture = downscaled.resize((page.width, page.height))
    padded = box.grown(CROP_PAD_PX).clipped(picture.width, picture.height)
    return picture.crop(padded.as_tuple())
