"""Precision and recall of entity extraction on a table of strings with their expected entities.

The table is a JSON list of `{"text": ..., "note": ..., "expected": {"dates": [...], ...}}`;
a kind missing from `expected` means none is expected. Text values (names, addresses, titles)
are compared without case, punctuation or repeated spaces; amounts to the cent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.errors import InputError
from indexer.processors.entities import ENTITY_KEYS, EntityExtractor

__all__ = ["DEFAULT_CASES", "EntityCase", "Score", "comparable", "evaluate", "load_cases", "total"]

#: The table shipped with the package (hand-written strings and the entities they hold).
DEFAULT_CASES = Path(__file__).resolve().parent / "entity_cases.json"
_PUNCTUATION = re.compile(r"[^\w\s-]")


@dataclass(frozen=True, slots=True)
class EntityCase:
    text: str
    expected: dict[str, list[Any]]
    note: str = ""


@dataclass(slots=True)
class Score:
    """Counts for one entity kind; a value is right when it equals an expected one."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def load_cases(path: Path = DEFAULT_CASES) -> list[EntityCase]:
    """The table at `path`.

    Raises:
        InputError: the file is missing or is not such a table.
    """
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [EntityCase(row["text"], dict(row.get("expected", {})), row.get("note", "")) for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read the entity table {path}: {exc}", path=str(path)) from exc


def comparable(key: str, value: Any) -> str:
    """A value as compared: amounts to the cent; text without case, punctuation or extra spaces."""
    if key == "amounts":
        return f"{float(value):.2f}"
    return " ".join(_PUNCTUATION.sub("", str(value)).casefold().split())


def evaluate(cases: Iterable[EntityCase], extractor: EntityExtractor) -> dict[str, Score]:
    """A score per entity key (dates, amounts, ...) over every case."""
    scores = {key: Score() for key in ENTITY_KEYS.values()}
    for case in cases:
        found = extractor.entities(case.text)
        for key, score in scores.items():
            got = {comparable(key, value) for value in found[key]}
            want = {comparable(key, value) for value in case.expected.get(key, [])}
            score.true_positives += len(got & want)
            score.false_positives += len(got - want)
            score.false_negatives += len(want - got)
            score.misses += [f"{case.text!r}: extra {value}" for value in sorted(got - want)]
            score.misses += [f"{case.text!r}: missed {value}" for value in sorted(want - got)]
    return scores


def total(scores: dict[str, Score]) -> Score:
    """All kinds together (micro average)."""
    return Score(
        sum(score.true_positives for score in scores.values()),
        sum(score.false_positives for score in scores.values()),
        sum(score.false_negatives for score in scores.values()),
    )
