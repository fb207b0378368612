"""Per-document artifact folders: what the pipeline found, so the index can be rebuilt without models.

`<artifacts dir>/<document id>/document.json` describes the file; `page-0001.json` holds one
page (boxes, tokens, OCR words, handwriting texts, placements, engine versions) and
`page-0001.jpg` a downscaled image. With `viz`, `page-0001-boxes.jpg` shows the boxes, one colour
per kind (the seed paper's Figure 3), and `page-0001-anchors.jpg` the page with the tokens in
place (its Figure 4). `corrections.json` keeps the readings people corrected in the review app;
it survives a re-ingest (which rewrites the pages) and is applied whenever the document is loaded,
so `indexer reindex` keeps every correction.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from indexer.document import Box, Document, HandwritingKind, KindSource, Page, Span

__all__ = [
    "CORRECTED_ENGINE",
    "ArtifactWriter",
    "SpanCorrection",
    "apply_corrections",
    "correct",
    "iter_artifact_documents",
    "load_corrections",
    "load_document",
    "page_stem",
    "save_correction",
    "write_page",
]

log = logging.getLogger(__name__)

KIND_COLOURS = {HandwritingKind.SIGNATURE: (220, 40, 40), HandwritingKind.ANNOTATION: (30, 90, 230)}
_JPEG_QUALITY = 80
_BOX_LINE_PX = 4
CORRECTIONS_FILE = "corrections.json"
#: The `engine` of a span whose reading a person corrected.
CORRECTED_ENGINE = "correction"
#: A correction follows its box: after a re-ingest, a span with the same id must still overlap it this much.
_SAME_BOX_IOU = 0.5


def page_stem(number: int) -> str:
    return f"page-{number:04d}"


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a crash never leaves half a JSON file behind."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as stream:
        json.dump(data, stream, ensure_ascii=False, indent=1, default=str)
    Path(temporary).replace(path)


def _downscaled(image: np.ndarray, max_side_px: int) -> Image.Image:
    picture = Image.fromarray(image)
    picture.thumbnail((max_side_px, max_side_px))
    return picture


class ArtifactWriter:
    """A page sink that writes each finished page's JSON and pictures."""

    def __init__(
        self, root: Path, *, max_side_px: int, viz: bool = False, searchable_pdf: bool = False
    ) -> None:
        self.root = root
        self._max_side_px = max_side_px
        self._viz = viz
        #: Write `searchable.pdf` once the last page is written (INDEXER_OUTPUT__SEARCHABLE_PDF).
        self._searchable_pdf = searchable_pdf

    def folder(self, document: Document) -> Path:
        return self.root / document.id

    def start(self, document: Document) -> Path:
        folder = self.folder(document)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("page-*"):
            stale.unlink()
        _write_json(folder / "document.json", document.to_dict(with_pages=False))
        return folder

    def __call__(self, document: Document, page: Page) -> None:
        folder = self.folder(document)
        stem = page_stem(page.number)
        write_page(folder, page)
        if page.image is not None:
            _downscaled(page.image, self._max_side_px).save(folder / f"{stem}.jpg", quality=_JPEG_QUALITY)
            if self._viz:
                self._write_viz(folder, stem, page, page.image)
        if self._searchable_pdf and page.number == document.page_count:
            self._write_searchable_pdf(folder)

    def _write_searchable_pdf(self, folder: Path) -> None:
        # Imported here: reportlab is needed only when the PDF is asked for.
        from indexer.errors import InputError
        from indexer.server.pdf import SEARCHABLE_PDF_NAME, searchable_pdf

        document = load_document(folder)
        try:
            (folder / SEARCHABLE_PDF_NAME).write_bytes(searchable_pdf(document, folder))
        except InputError as exc:
            # The pages are indexed all the same; only the extra file is missing.
            log.warning("%s: no searchable PDF: %s", document.filename, exc.message)

    def _write_viz(self, folder: Path, stem: str, page: Page, image: np.ndarray) -> None:
        boxes = Image.fromarray(image.copy())
        draw = ImageDraw.Draw(boxes)
        for span in page.spans:
            draw.rectangle(span.box.as_tuple(), outline=KIND_COLOURS[span.kind], width=_BOX_LINE_PX)
        boxes.save(folder / f"{stem}-boxes.jpg", quality=_JPEG_QUALITY)
        if page.masked_image is not None:
            Image.fromarray(page.masked_image).save(folder / f"{stem}-anchors.jpg", quality=_JPEG_QUALITY)


def write_page(folder: Path, page: Page) -> None:
    """Write (or replace, atomically) one page's JSON in a document's artifact folder."""
    _write_json(folder / f"{page_stem(page.number)}.json", page.to_dict())


@dataclass(frozen=True, slots=True)
class SpanCorrection:
    """What a person corrected on a span: its text, its kind, or both (None: left as read), who and when."""

    page: int
    span_id: str
    box: Box
    text: str | None
    kind: HandwritingKind | None
    who: str
    when: str

    @property
    def key(self) -> str:
        return f"{self.page}:{self.span_id}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind.value if self.kind else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanCorrection:
        return cls(
            page=int(data["page"]),
            span_id=str(data["span_id"]),
            box=Box.from_dict(data["box"]),
            text=None if data.get("text") is None else str(data["text"]),
            kind=HandwritingKind(data["kind"]) if data.get("kind") else None,
            who=str(data["who"]),
            when=str(data["when"]),
        )


def load_corrections(folder: Path) -> dict[str, SpanCorrection]:
    """The corrections kept in a document's artifact folder, by `page:span id` (the latest wins)."""
    path = folder / CORRECTIONS_FILE
    if not path.is_file():
        return {}
    items = json.loads(path.read_text()).get("corrections", [])
    return {correction.key: correction for correction in map(SpanCorrection.from_dict, items)}


def save_correction(folder: Path, correction: SpanCorrection) -> SpanCorrection:
    """Keep a correction in the document's artifact folder, on top of an earlier one of that span.

    Returns:
        The span's correction as kept: what this one leaves unset comes from the earlier one.
    """
    kept = load_corrections(folder)
    earlier = kept.get(correction.key)
    if earlier is not None:
        correction = replace(
            correction,
            text=earlier.text if correction.text is None else correction.text,
            kind=correction.kind or earlier.kind,
        )
    kept[correction.key] = correction
    _write_json(folder / CORRECTIONS_FILE, {"corrections": [item.to_dict() for item in kept.values()]})
    return correction


def correct(span: Span, correction: SpanCorrection) -> None:
    """Set what a person corrected on a span; a kind a person chose is never recomputed (PERSON)."""
    if correction.text is not None:
        span.text, span.confidence, span.engine = correction.text, 1.0, CORRECTED_ENGINE
    if correction.kind is not None:
        span.kind, span.kind_source = correction.kind, KindSource.PERSON


def apply_corrections(document: Document, corrections: dict[str, SpanCorrection]) -> list[Page]:
    """Set the corrected texts and kinds on the document's spans; return the pages that changed.

    Their merged text is left as it was: run the model-free processors on those pages.
    """
    changed: list[Page] = []
    for page in document.pages:
        for span in page.spans:
            correction = corrections.get(f"{page.number}:{span.id}")
            if correction is None:
                continue
            if span.box.iou(correction.box) < _SAME_BOX_IOU:
                # The page was detected again and this id now names another box.
                log.warning(
                    "%s page %d: the correction of %s no longer matches a box; it is not applied",
                    document.filename,
                    page.number,
                    span.id,
                )
                continue
            correct(span, correction)
            if not changed or changed[-1] is not page:
                changed.append(page)
    return changed


def load_document(folder: Path) -> Document:
    """A document and its pages, read back from an artifact folder, with its corrections applied.

    The pages' merged text is as stored: run the model-free processors to place corrected texts.
    """
    data = json.loads((folder / "document.json").read_text())
    data["pages"] = [
        json.loads(path.read_text()) for path in sorted(folder.glob("page-[0-9][0-9][0-9][0-9].json"))
    ]
    document = Document.from_dict(data)
    apply_corrections(document, load_corrections(folder))
    return document


def iter_artifact_documents(root: Path) -> Iterator[Path]:
    """Artifact folders that hold a complete document (every page written)."""
    for folder in sorted(root.iterdir() if root.is_dir() else []):
        meta = folder / "document.json"
        if not meta.is_file():
            continue
        try:
            pages = json.loads(meta.read_text()).get("page_count", 0)
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("skipping unreadable artifacts in %s: %s", folder, exc)
            continue
        if len(list(folder.glob("page-[0-9][0-9][0-9][0-9].json"))) == pages:
            yield folder
        else:
            log.warning("skipping incomplete artifacts in %s", folder)
