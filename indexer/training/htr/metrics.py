"""OCR scores as the issue defines them: case-insensitive, whitespace collapsed.

- CER: total character edit distance over total reference characters (corpus level).
- Word accuracy: reference words found in the prediction (multiset match) over reference words.
- Exact: crops whose normalised prediction equals the normalised reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["OcrScore", "edit_distance", "normalise", "score"]


def normalise(text: str) -> str:
    """Lower case, whitespace runs collapsed to one space, trimmed."""
    return " ".join(text.lower().split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class OcrScore:
    """Scores of one engine over a set of crops."""

    crops: int
    cer: float
    word_accuracy: float
    exact: int


def score(predictions: Sequence[str], references: Sequence[str]) -> OcrScore:
    """Score predictions against references (same order, same length)."""
    if len(predictions) != len(references):
        raise ValueError("predictions and references differ in length")
    edits = characters = found = words = exact = 0
    for prediction, reference in zip(predictions, references, strict=True):
        predicted, expected = normalise(prediction), normalise(reference)
        edits += edit_distance(predicted, expected)
        characters += len(expected)
        expected_words = Counter(expected.split())
        found += sum((expected_words & Counter(predicted.split())).values())
        words += sum(expected_words.values())
        exact += predicted == expected
    return OcrScore(
        crops=len(references),
        cer=edits / max(characters, 1),
        word_accuracy=found / max(words, 1),
        exact=exact,
    )
