"""Honest figures for ppocr's typed decoding and the ensemble: settings chosen by cross-validation.

The typed margin, the space boost of free readings (and the ensemble's confidence offset) are
chosen by looking at labelled crops,
so each crop is scored with the setting that was best on the other documents' crops (K folds by
document, `indexer.training.data.splits.cross_validation_folds`). Every line is read once; the
settings only change which of its readings is kept, so the search is cheap.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition
from indexer.backends.htr.ensemble import choose_reading
from indexer.backends.htr.grammar import parse_date
from indexer.backends.htr.lines import LineSplitter
from indexer.backends.htr.ppocr import PpOcrRecognizer
from indexer.backends.htr.typed import TypedCandidates, TypedDecoder, choose
from indexer.training.data.splits import cross_validation_folds, document_of
from indexer.training.htr.metrics import edit_distance, normalise

__all__ = [
    "MARGINS",
    "OFFSETS",
    "SPACE_BOOSTS",
    "CrossValidated",
    "LineEvidence",
    "collect_lines",
    "cross_validate",
    "date_accuracy",
    "ensemble_text",
    "settings_grid",
    "typed_text",
]

log = logging.getLogger(__name__)

#: Typed margins tried (nats); 0 takes a typed reading only when it is as likely as the free one.
MARGINS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
#: Ensemble confidence offsets tried (htr's confidence minus ppocr's).
OFFSETS = (-0.1, 0.0, 0.05, 0.1, 0.2, 0.3, 1.1)
#: Space boosts of ppocr's free readings tried (nats; `indexer.backends.htr.ppocr.SPACE_BOOST`).
SPACE_BOOSTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class LineEvidence:
    """Everything the settings choose between on one line."""

    candidates: TypedCandidates
    #: ppocr's free reading after the lexicon, with its confidence, per space boost.
    free: Mapping[float, Recognition]
    #: htr's reading of the line, when the ensemble is scored.
    htr: Recognition | None = None


@dataclass(frozen=True)
class CrossValidated:
    """Held-out predictions and the settings each fold chose (and the one all documents choose)."""

    predictions: tuple[str, ...]
    chosen: tuple[tuple[float, ...], ...]
    chosen_on_all: tuple[float, ...]


def collect_lines(
    crops: Sequence[np.ndarray],
    ppocr: PpOcrRecognizer,
    splitter: LineSplitter,
    *,
    htr: HandwritingRecognizer | None = None,
) -> list[list[LineEvidence]]:
    """Cut each crop into lines and read every line once with ppocr (and htr)."""
    decoder = ppocr.typed or TypedDecoder(ppocr.vocabulary, margin=0.0)
    out: list[list[LineEvidence]] = []
    for crop in crops:
        lines = splitter.split(crop)
        readings = ppocr.read(lines)
        htr_readings = htr.recognize(lines) if htr is not None else [None] * len(lines)
        evidence = []
        for reading, other in zip(readings, htr_readings, strict=True):
            if reading is None:
                continue
            candidates = decoder.candidates(reading.probabilities)
            free = {boost: ppocr.read_freely(reading, space_boost=boost) for boost in SPACE_BOOSTS}
            evidence.append(LineEvidence(candidates, free, other))
        out.append(evidence)
    return out


def typed_text(line: LineEvidence, margin: float, space_boost: float) -> Recognition:
    """ppocr's reading of a line under the settings: the typed one, or the free one with the lexicon."""
    free = line.free[space_boost]
    if margin < 0:
        return free
    chosen = choose(line.candidates, margin)
    if chosen.field_type is None:
        return free
    return Recognition(chosen.text, chosen.confidence, free.engine)


def ensemble_text(line: LineEvidence, margin: float, space_boost: float, offset: float) -> Recognition:
    primary = typed_text(line, margin, space_boost)
    if line.htr is None:
        return primary
    return choose_reading(primary, line.htr, confidence_offset=offset)


def cross_validate(
    lines: Sequence[Sequence[LineEvidence]],
    references: Sequence[str],
    images: Sequence[str],
    *,
    read: Callable[[LineEvidence, tuple[float, ...]], Recognition],
    grid: Sequence[tuple[float, ...]],
    folds: int = 5,
) -> CrossValidated:
    """Score each crop with the setting that made the fewest character errors on the other folds.

    Ties are broken by more dates read right, then by the smaller setting (grid order).
    """
    members = cross_validation_folds(images, min(folds, len({document_of(i) for i in images})))
    fold_of = [next(k for k, docs in enumerate(members) if document_of(image) in docs) for image in images]
    texts = {
        setting: [" ".join(t for t in (read(line, setting).text for line in crop) if t) for crop in lines]
        for setting in grid
    }
    errors = {
        s: [edit_distance(normalise(p), normalise(r)) for p, r in zip(texts[s], references, strict=True)]
        for s in grid
    }
    dates = {s: [_date_right(p, r) for p, r in zip(texts[s], references, strict=True)] for s in grid}

    def best(rows: list[int]) -> tuple[float, ...]:
        return min(grid, key=lambda s: (sum(errors[s][i] for i in rows), -sum(dates[s][i] for i in rows)))

    predictions = [""] * len(references)
    chosen = []
    for fold in range(len(members)):
        setting = best([i for i, f in enumerate(fold_of) if f != fold])
        chosen.append(setting)
        for i, f in enumerate(fold_of):
            if f == fold:
                predictions[i] = texts[setting][i]
    on_all = best(list(range(len(references))))
    log.info("cross-validated settings per fold %s; on all documents %s", chosen, on_all)
    return CrossValidated(tuple(predictions), tuple(chosen), on_all)


def _date_right(prediction: str, reference: str) -> bool:
    expected = parse_date(reference)
    return expected is not None and parse_date(prediction) == expected


def date_accuracy(predictions: Sequence[str], references: Sequence[str]) -> tuple[int, int]:
    """(dates read right, handwritten dates): a date is right when its calendar value is the truth's."""
    total = sum(parse_date(reference) is not None for reference in references)
    right = sum(_date_right(p, r) for p, r in zip(predictions, references, strict=True))
    return right, total


def settings_grid(engine: str) -> list[tuple[float, ...]]:
    """The settings searched for an engine's row.

    `ppocr` (free readings): (-1, space boost); `ppocr+typed`: (margin, space boost); `ensemble`:
    (margin, space boost, confidence offset). A negative margin turns typed decoding off.
    """
    if engine == "ppocr":
        return [(-1.0, boost) for boost in SPACE_BOOSTS]
    if engine == "ppocr+typed":
        return list(itertools.product(MARGINS, SPACE_BOOSTS))
    if engine == "ensemble":
        return list(itertools.product(MARGINS, SPACE_BOOSTS, OFFSETS))
    raise ValueError(f"no settings are cross-validated for {engine!r}")
