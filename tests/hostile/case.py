"""What a hostile case is, and the material its files are made from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from indexer.training.data.synthetic import SyntheticPage
from tests.factories import write_scanned_pdf

__all__ = ["Expectation", "HostileCase", "Maker", "Material"]

Expectation = Literal["indexed", "failed"]


@dataclass(frozen=True, slots=True)
class HostileCase:
    """One input and what should become of it."""

    name: str
    path: Path
    expect: Expectation
    why: str
    #: Pages a good file must have in the index.
    pages: int = 1
    #: Whether a good file carries printed text the page OCR must find (a blank page does not).
    has_text: bool = True
    #: A link, a FIFO or a folder: a daemon may refuse it where it lies, with a logged reason.
    is_special: bool = False
    #: What `indexer ingest` should do when it differs from the daemon: the user named the folder,
    #: so ingest follows links out of it (and says so) where the daemon refuses them.
    ingest_expect: Expectation | None = None

    def for_ingest(self) -> HostileCase:
        return self if self.ingest_expect is None else replace(self, expect=self.ingest_expect)


@dataclass(slots=True)
class Material:
    """Where cases are written, and the generated pages good files are drawn from."""

    folder: Path
    outside: Path
    pages: list[SyntheticPage]
    _next_seed: int = 0

    def seed(self) -> int:
        self._next_seed += 1
        return self._next_seed

    def page(self, index: int = 0) -> np.ndarray:
        return self.pages[index % len(self.pages)].image

    def good_pdf(self, path: Path, *, page: int = 0) -> Path:
        """A one-page scanned PDF with its own bytes (its own scan noise)."""
        return write_scanned_pdf(path, [self.pages[page % len(self.pages)]], seed=self.seed())


Maker = Callable[[Material], HostileCase]
