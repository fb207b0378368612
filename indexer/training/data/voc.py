"""Readers for labelled pages: Pascal VOC XML (VoTT's export) and VoTT JSON (v1 `frames`, v2 `assets`).

Labels map to `HandwritingKind`: `signature` stays, `others` (the VOC name) and `annotation` become
annotations. Unknown labels are skipped with a warning.
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from indexer.document import Box, HandwritingKind
from indexer.errors import InputError

__all__ = ["LabelledBox", "LabelledPage", "load_labelled_pages", "read_voc", "read_vott_json"]

log = logging.getLogger(__name__)

LABELS = {
    "signature": HandwritingKind.SIGNATURE,
    "others": HandwritingKind.ANNOTATION,
    "annotation": HandwritingKind.ANNOTATION,
}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


@dataclass(frozen=True, slots=True)
class LabelledBox:
    kind: HandwritingKind
    box: Box


@dataclass(slots=True)
class LabelledPage:
    """One labelled image: where it is, its size, and its boxes in its own pixels."""

    image_path: Path
    width: int
    height: int
    boxes: list[LabelledBox] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.image_path.stem


def _kind(label: str, source: Path) -> HandwritingKind | None:
    kind = LABELS.get(label.strip().lower())
    if kind is None:
        log.warning("%s: skipping unknown label %r", source, label)
    return kind


def _make_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box | None:
    left, top = max(0, round(x0)), max(0, round(y0))
    right, bottom = min(width, round(x1)), min(height, round(y1))
    if right <= left or bottom <= top:
        return None
    return Box(left, top, right, bottom)


def _find_image(stem: str, folders: Iterable[Path]) -> Path:
    for folder in folders:
        for suffix in _IMAGE_SUFFIXES:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return next(iter(folders)) / f"{stem}.jpg"


def read_voc(xml_path: Path, *, image_dirs: Iterable[Path] = ()) -> LabelledPage:
    """One VOC XML file; the image is looked up by stem in `image_dirs`, then beside the XML.

    Raises:
        InputError: the XML cannot be parsed or lacks a size.
    """
    try:
        root = ET.parse(xml_path).getroot()
        width = int(root.findtext("size/width") or 0)
        height = int(root.findtext("size/height") or 0)
    except (ET.ParseError, ValueError) as exc:
        raise InputError(f"cannot read VOC file {xml_path}: {exc}", path=str(xml_path)) from exc
    if width <= 0 or height <= 0:
        raise InputError(f"VOC file {xml_path} has no image size", path=str(xml_path))
    stem = (root.findtext("filename") or xml_path.stem).strip()
    stem = stem.rsplit(".", 1)[0] if stem.lower().endswith(_IMAGE_SUFFIXES) else stem
    page = LabelledPage(_find_image(stem, [*image_dirs, xml_path.parent]), width, height)
    for obj in root.iter("object"):
        kind = _kind(obj.findtext("name") or "", xml_path)
        x0, y0, x1, y1 = (
            float(obj.findtext(f"bndbox/{name}") or "nan") for name in ("xmin", "ymin", "xmax", "ymax")
        )
        box = _make_box(x0, y0, x1, y1, width, height) if kind else None
        if kind and box:
            page.boxes.append(LabelledBox(kind, box))
    return page


def _vott_v2_pages(data: dict[str, Any], source: Path) -> list[LabelledPage]:
    pages = []
    for entry in data["assets"].values():
        asset = entry["asset"]
        width, height = int(asset["size"]["width"]), int(asset["size"]["height"])
        path = Path(unquote(urlparse(asset.get("path", "")).path)) if asset.get("path") else Path()
        image = path if path.is_file() else _find_image(Path(asset["name"]).stem, [source.parent])
        page = LabelledPage(image, width, height)
        for region in entry.get("regions", []):
            bounds = region["boundingBox"]
            x0, y0 = float(bounds["left"]), float(bounds["top"])
            box = _make_box(x0, y0, x0 + float(bounds["width"]), y0 + float(bounds["height"]), width, height)
            for tag in region.get("tags", [])[:1]:
                kind = _kind(tag, source)
                if kind and box:
                    page.boxes.append(LabelledBox(kind, box))
        pages.append(page)
    return pages


def _vott_v1_pages(data: dict[str, Any], source: Path) -> list[LabelledPage]:
    pages = []
    for name, regions in data["frames"].items():
        image = _find_image(Path(name).stem, [source.parent, source.parent / "images"])
        width = int(regions[0]["width"]) if regions else 0
        height = int(regions[0]["height"]) if regions else 0
        page = LabelledPage(image, width, height)
        for region in regions:
            box = _make_box(region["x1"], region["y1"], region["x2"], region["y2"], width, height)
            kind = _kind(region["tags"][0], source) if region.get("tags") else None
            if kind and box:
                page.boxes.append(LabelledBox(kind, box))
        if width and height:
            pages.append(page)
    return pages


def read_vott_json(path: Path) -> list[LabelledPage]:
    """Pages of a VoTT JSON export: v2 (`assets` with `regions`) or v1 (`frames`).

    Raises:
        InputError: the file is not JSON or not a VoTT export.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "assets" in data:
            return _vott_v2_pages(data, path)
        if "frames" in data:
            return _vott_v1_pages(data, path)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"cannot read VoTT JSON {path}: {exc}", path=str(path)) from exc
    raise InputError(f"{path} is not a VoTT export (no `assets` or `frames`)", path=str(path))


def load_labelled_pages(folder: Path) -> list[LabelledPage]:
    """All labelled pages under `folder`: `annotations/*.xml` (or `*.xml`) and VoTT `*.json`.

    Raises:
        InputError: the folder holds no labels.
    """
    image_dirs = [folder / "images", folder]
    xml_files = sorted((folder / "annotations").glob("*.xml")) or sorted(folder.glob("*.xml"))
    pages = [read_voc(path, image_dirs=image_dirs) for path in xml_files]
    for path in sorted(folder.glob("*.json")):
        if path.name != "transcriptions.json":
            pages.extend(read_vott_json(path))
    if not pages:
        raise InputError(f"no VOC XML or VoTT JSON labels found in {folder}", path=str(folder))
    return sorted(pages, key=lambda page: page.stem)
