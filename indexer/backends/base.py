"""The small interfaces every engine implements; the pipeline only sees these.

Images are numpy arrays: RGB pages are (height, width, 3) uint8, crops may be grey
(height, width) or RGB. Boxes are in the pixels of the image they were given.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from indexer.document import Box, HandwritingKind, HandwritingMap, Word

__all__ = [
    "BoxDetector",
    "CandidateDetector",
    "Detection",
    "HandwritingRecognizer",
    "MappingDetector",
    "PrintedOcr",
    "PrintedOcrResult",
    "Recognition",
    "SparseTextReader",
    "takes_type_hints",
]


@dataclass(frozen=True, slots=True)
class Detection:
    """One handwriting box found on a page, in the page image's pixels."""

    kind: HandwritingKind
    box: Box
    score: float


@runtime_checkable
class BoxDetector(Protocol):
    """Finds handwriting on a page image."""

    name: str
    version: str

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Boxes of handwriting on one (height, width, 3) uint8 RGB page."""
        ...


@runtime_checkable
class MappingDetector(Protocol):
    """A detector that also gives its per-pixel handwriting probabilities (our FCN does)."""

    def detect_with_map(self, image: np.ndarray) -> tuple[list[Detection], HandwritingMap]:
        """The boxes of `detect` and the probabilities they were decoded from, on the page's grid."""
        ...


@runtime_checkable
class CandidateDetector(Protocol):
    """A detector that can read the page once more, at another scale, for what it missed."""

    def second_look(self, image: np.ndarray, *, scale: float) -> list[Detection]:
        """Every box (both kinds) of one more reading of the page at `scale` alone."""
        ...


@dataclass(frozen=True, slots=True)
class Recognition:
    """What a recognizer read on one crop; `confidence` is in [0, 1]."""

    text: str
    confidence: float
    engine: str


@runtime_checkable
class HandwritingRecognizer(Protocol):
    """Reads handwriting crops, a batch at a time; results keep the batch order."""

    name: str
    version: str

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One `Recognition` per crop; an empty or blank crop gives empty text."""
        ...


def takes_type_hints(recognizer: HandwritingRecognizer) -> bool:
    """Whether the recognizer's `recognize` takes `type_hints=` (one field type or None per crop):
    engines with typed decoding do, and then read a crop labelled `Date:` under a date grammar."""
    return "type_hints" in inspect.signature(recognizer.recognize).parameters


@dataclass(frozen=True, slots=True)
class PrintedOcrResult:
    """The page OCR: its words (with boxes and confidences in [0, 1]) and its plain text."""

    words: list[Word]
    text: str


@runtime_checkable
class PrintedOcr(Protocol):
    """OCRs a whole (masked) page."""

    name: str
    version: str

    def read_page(self, image: np.ndarray, *, dpi: int) -> PrintedOcrResult:
        """Words and text of one (height, width, 3) uint8 RGB page rendered at `dpi`."""
        ...


@runtime_checkable
class SparseTextReader(Protocol):
    """A page OCR that can also read an image region as scattered words, without layout analysis.

    Used to re-read rows where the page layout analysis dropped a line altogether.
    """

    def read_sparse(self, image: np.ndarray, *, dpi: int) -> list[Word]:
        """Words of one RGB image region, in its pixels, in no particular order."""
        ...
