"""`ensemble`: read each line with `ppocr` and `htr` and keep one reading per line.

A reading that is a valid typed field (a date, an amount, a zip code, a phone number) wins over
one that is not; otherwise `htr`'s reading is kept only when its confidence beats ppocr's by
`confidence_offset` (the two engines' confidences are on different scales: ppocr's are higher
for the same quality, so the offset is their calibration, chosen by cross-validation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack

import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition
from indexer.backends.htr.grammar import GRAMMARS, FieldType, Grammar

__all__ = ["ENGINE", "EnsembleRecognizer", "choose_reading", "is_typed_reading"]

log = logging.getLogger(__name__)

ENGINE = "ensemble"
_GRAMMARS = tuple(Grammar(field, GRAMMARS[field]) for field in FieldType)


def is_typed_reading(text: str) -> bool:
    """True when the whole reading is a valid date, amount, zip code or phone number."""
    return bool(text) and any(grammar.accepts(text) for grammar in _GRAMMARS)


def choose_reading(primary: Recognition, secondary: Recognition, *, confidence_offset: float) -> Recognition:
    """The kept reading of one line (grammar validity first, then the offset confidence)."""
    primary_typed, secondary_typed = is_typed_reading(primary.text), is_typed_reading(secondary.text)
    if primary_typed != secondary_typed:
        chosen = primary if primary_typed else secondary
    elif secondary.text and secondary.confidence - primary.confidence > confidence_offset:
        chosen = secondary
    else:
        chosen = primary if primary.text else secondary
    return Recognition(chosen.text, chosen.confidence, ENGINE)


class EnsembleRecognizer:
    """Reads line crops with two recognizers (ppocr first) and keeps one reading per line."""

    name = ENGINE

    def __init__(
        self, primary: HandwritingRecognizer, secondary: HandwritingRecognizer, *, confidence_offset: float
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self.confidence_offset = confidence_offset
        self.version = f"{primary.name} {primary.version} + {secondary.name} {secondary.version}"

    def __enter__(self) -> EnsembleRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with ExitStack() as stack:
            for inner in (self.primary, self.secondary):
                if isinstance(inner, AbstractContextManager):
                    stack.push(inner)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One `Recognition` per crop, in order; empty or blank crops give empty text."""
        if not crops:
            return []
        first = self.primary.recognize(crops)
        second = self.secondary.recognize(crops)
        return [
            choose_reading(a, b, confidence_offset=self.confidence_offset)
            for a, b in zip(first, second, strict=True)
        ]
