"""Corrections made in the review app, read as labelled lines for `train-htr --corrections DIR`.

The store (`<state dir>/corrections/`, written by `indexer.server.corrections`) holds one folder
per document, with a PNG crop and a JSON record per corrected span. Training reads labelled crops
in the `transcriptions.json` format, so the corrections are written out in that format (each crop
its own image, named `<document id>-<n>.png` so the split by document keeps one document's
corrections on one side), merged with any transcriptions given too.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from indexer.errors import InputError

__all__ = ["CorrectedLine", "read_corrections", "write_transcriptions"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CorrectedLine:
    """One corrected handwriting crop and what a person said it reads."""

    image: Path
    text: str
    document_id: str
    who: str
    when: str


def read_corrections(folder: Path) -> list[CorrectedLine]:
    """Every annotation whose text a person corrected, in a corrections store (signatures carry no reading).

    Raises:
        InputError: the folder does not exist, or a record or its crop is unreadable.
    """
    if not folder.is_dir():
        raise InputError(f"no corrections folder at {folder}", path=str(folder))
    lines: list[CorrectedLine] = []
    for path in sorted(folder.glob("*/*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            image = path.parent / str(record["image"])
            text = " ".join(str(record["text"]).split())
            # A kind-only correction left the machine's reading: no label to learn from.
            if record["kind"] == "signature" or not text or not record.get("is_text_corrected", True):
                continue
            if not image.is_file():
                raise OSError(f"its crop {image.name} is missing")
            lines.append(
                CorrectedLine(image, text, str(record["document_id"]), record["who"], record["when"])
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"cannot read the correction {path}: {exc}", path=str(path)) from exc
    log.info("%d corrected lines in %s", len(lines), folder)
    return lines


def write_transcriptions(
    lines: list[CorrectedLine],
    out_dir: Path,
    *,
    transcriptions: Path | None = None,
    images_dir: Path | None = None,
) -> Path:
    """Write the corrections (and the entries of `transcriptions`, if given) as one labelled set.

    Returns:
        The `transcriptions.json` written; its images are in `out_dir/images`.

    Raises:
        InputError: `transcriptions` is unreadable.
    """
    images = out_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, object]] = []
    if transcriptions is not None:
        source_images = images_dir or transcriptions.parent / "images"
        try:
            entries = list(json.loads(transcriptions.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(f"cannot read {transcriptions}: {exc}", path=str(transcriptions)) from exc
        for name in {str(entry["image"]) for entry in entries if isinstance(entry, dict)}:
            link = images / name
            if not link.exists():
                os.symlink((source_images / name).resolve(), link)
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.document_id] = counts.get(line.document_id, 0) + 1
        name = f"{line.document_id}-{counts[line.document_id]}.png"
        with Image.open(line.image) as crop:
            crop.convert("RGB").save(images / name)
            width, height = crop.size
        entries.append({"image": name, "index": 0, "box": [0, 0, width, height], "text": line.text})
    path = out_dir / "transcriptions.json"
    path.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
