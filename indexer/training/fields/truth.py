"""What a person marked and read on a labelled folder: every handwriting box, with its reading.

A labelled folder (as `../shared/data/contracts-dev`) holds Pascal VOC boxes (`annotations/`),
the page images (`images/`) and `transcriptions.json`, which gives the reading of each legible
non-signature box. Signature boxes and illegible boxes have no reading; they still count for the
kind confusions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from indexer.document import Box, HandwritingKind
from indexer.errors import InputError
from indexer.training.data.voc import LabelledPage, load_labelled_pages
from indexer.training.htr.transcriptions import load_transcriptions

__all__ = ["TRANSCRIPTIONS_FILE", "TruthBox", "TruthPage", "load_truth"]

TRANSCRIPTIONS_FILE = "transcriptions.json"
#: A transcription belongs to the VOC box it overlaps this much (they are the same box, rounded).
_SAME_BOX_IOU = 0.5


@dataclass(frozen=True, slots=True)
class TruthBox:
    """One handwriting box a person drew; `text` is None when no reading was given."""

    kind: HandwritingKind
    box: Box
    text: str | None = None


@dataclass(slots=True)
class TruthPage:
    """One labelled page and its boxes."""

    page: LabelledPage
    boxes: list[TruthBox]

    @property
    def stem(self) -> str:
        return self.page.stem

    @property
    def read(self) -> list[TruthBox]:
        """The boxes with a reading (legible annotations)."""
        return [box for box in self.boxes if box.text is not None]


def load_truth(folder: Path) -> list[TruthPage]:
    """Every labelled page of `folder` with its boxes and, where given, their readings.

    Raises:
        InputError: no labels, or no `transcriptions.json` in the folder.
    """
    path = folder / TRANSCRIPTIONS_FILE
    if not path.is_file():
        raise InputError(
            f"{folder} has no {TRANSCRIPTIONS_FILE} (the readings to score against)", path=str(folder)
        )
    readings: dict[str, list[tuple[Box, str]]] = defaultdict(list)
    for crop in load_transcriptions(path):
        readings[Path(crop.image).stem].append((Box(*crop.box), crop.text))
    pages = []
    for page in load_labelled_pages(folder):
        boxes = [TruthBox(labelled.kind, labelled.box) for labelled in page.boxes]
        for box, text in readings.get(page.stem, []):
            same = max(
                (index for index, truth in enumerate(boxes) if truth.box.iou(box) >= _SAME_BOX_IOU),
                key=lambda index: boxes[index].box.iou(box),
                default=None,
            )
            if same is None:
                boxes.append(TruthBox(HandwritingKind.ANNOTATION, box, text))
            else:
                boxes[same] = TruthBox(boxes[same].kind, boxes[same].box, text)
        pages.append(TruthPage(page, boxes))
    return pages
