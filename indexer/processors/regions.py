"""Steps that read regions of the unmasked page as sparse text before masking.

`split_blocks` reads the labels left of each box, `trim_boxes` the print at each box's edges.
Only a printed OCR that reads regions (Tesseract) can do that; with another (Azure's page OCR)
such a step is off and says so in `indexer pipeline`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial

import numpy as np

from indexer.backends.base import SparseTextReader
from indexer.document import Box, Page, Word
from indexer.errors import ProcessingError

__all__ = ["RegionReader", "RegionReadingStep", "read_region"]


def read_region(reader: SparseTextReader, image: np.ndarray, region: Box, *, dpi: int) -> list[Word]:
    """The words of one region of a page image, read as sparse text, in the page's pixels."""
    region = region.clipped(image.shape[1], image.shape[0])
    crop = np.ascontiguousarray(image[region.y0 : region.y1, region.x0 : region.x1])
    return [
        Word(
            word.text,
            Box(
                word.box.x0 + region.x0,
                word.box.y0 + region.y0,
                word.box.x1 + region.x0,
                word.box.y1 + region.y0,
            ),
            word.confidence,
        )
        for word in reader.read_sparse(crop, dpi=dpi)
    ]


#: Reads one region of the page being processed: its words, in the page's pixels.
RegionReader = Callable[[Box], list[Word]]


class RegionReadingStep(ABC):
    """A page processor that reads page regions; subclasses set `name` and `summary` and
    implement `process`, which runs only when the OCR reads regions and the page has its image."""

    name: str
    #: What the step does, for `describe`.
    summary: str

    def __init__(self, reader: object) -> None:
        self._reader = reader if isinstance(reader, SparseTextReader) else None

    def describe(self) -> str:
        if self._reader is None:
            return f"{self.name}: off (the printed OCR cannot read a region as sparse text)"
        return f"{self.name}: {self.summary}"

    def __call__(self, page: Page) -> Page:
        if self._reader is None:
            return page
        if page.image is None:
            raise ProcessingError("the page has no image to read", processor=self.name, page=page.number)
        return self.process(page, partial(read_region, self._reader, page.image, dpi=page.dpi))

    @abstractmethod
    def process(self, page: Page, read: RegionReader) -> Page:
        """The step's work on one page; `read(region)` gives the words of a region of it."""
