"""Labelled real crops: `transcriptions.json` of contracts-dev and the page images it points to.

Each entry is `{"image", "index", "box": [xmin, ymin, xmax, ymax], "text", "legible", "confidence"}`;
boxes are padded by `PAD_PX` like the Tesseract baseline. The split is by document
(`indexer.training.data.splits`), so validation documents never reach training.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.errors import InputError
from indexer.training.data.splits import document_of, is_validation_document

__all__ = ["PAD_PX", "LabelledCrop", "crop_box", "load_transcriptions", "read_crops"]

log = logging.getLogger(__name__)

#: Pixels added on every side of a labelled box before cropping.
PAD_PX = 6


@dataclass(frozen=True, slots=True)
class LabelledCrop:
    """One legible box: where it is and what is written in it (lines joined by spaces)."""

    image: str
    index: int
    box: tuple[int, int, int, int]
    text: str

    @property
    def document(self) -> str:
        return document_of(self.image)

    @property
    def is_validation(self) -> bool:
        return is_validation_document(self.document)


def load_transcriptions(path: Path) -> list[LabelledCrop]:
    """The legible entries of a transcriptions file.

    Raises:
        InputError: the file is missing or not a list of transcription objects.
    """
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        crops = [
            LabelledCrop(
                image=str(entry["image"]),
                index=int(entry["index"]),
                box=(int(entry["box"][0]), int(entry["box"][1]), int(entry["box"][2]), int(entry["box"][3])),
                text=" ".join(str(entry["text"]).split()),
            )
            for entry in entries
            if entry.get("legible", True) and str(entry.get("text", "")).strip()
        ]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise InputError(f"cannot read transcriptions from {path}: {exc}", path=str(path)) from exc
    log.debug("%d legible transcriptions in %s", len(crops), path)
    return crops


def crop_box(page: np.ndarray, box: tuple[int, int, int, int], *, pad_px: int = PAD_PX) -> np.ndarray:
    """The padded box cut from a page, clipped to the page."""
    height, width = page.shape[:2]
    xmin, ymin, xmax, ymax = box
    return page[
        max(0, ymin - pad_px) : min(height, ymax + pad_px), max(0, xmin - pad_px) : min(width, xmax + pad_px)
    ]


def read_crops(crops: list[LabelledCrop], images_dir: Path) -> Iterator[tuple[LabelledCrop, np.ndarray]]:
    """Each labelled crop with its RGB pixels; every page is read once.

    Raises:
        InputError: a page image named in the transcriptions is missing or unreadable.
    """
    by_image: dict[str, list[LabelledCrop]] = {}
    for crop in crops:
        by_image.setdefault(crop.image, []).append(crop)
    for name, on_page in by_image.items():
        path = images_dir / name
        try:
            with Image.open(path) as opened:
                page = np.asarray(opened.convert("RGB"))
        except OSError as exc:
            raise InputError(f"cannot read page image {path}: {exc}", path=str(path)) from exc
        for crop in on_page:
            yield crop, crop_box(page, crop.box)
