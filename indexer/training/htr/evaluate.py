"""`indexer evaluate-ocr`: run engines on the labelled crops of a split and score them."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition
from indexer.backends.htr.lines import LineSplitter, LineSplittingRecognizer
from indexer.backends.htr.ppocr import PpOcrRecognizer
from indexer.backends.htr.typed import TypedDecoder
from indexer.backends.select import build_recognizer, resolve_engine
from indexer.config import Settings
from indexer.errors import ConfigError
from indexer.training.htr.metrics import OcrScore, score
from indexer.training.htr.transcriptions import LabelledCrop, load_transcriptions, read_crops
from indexer.training.htr.typed_cv import (
    collect_lines,
    cross_validate,
    date_accuracy,
    ensemble_text,
    settings_grid,
    typed_text,
)
from indexer.training.progress import ProgressCallback

__all__ = ["CROSS_VALIDATED", "EngineResult", "evaluate_engines", "load_split", "run_recognizer"]

log = logging.getLogger(__name__)

#: Rows whose settings (space boost, typed margin, ensemble offset) are cross-validated by document.
CROSS_VALIDATED = ("ppocr", "ppocr+typed", "ensemble")


@dataclass(frozen=True)
class EngineResult:
    """One engine's scores on the crops, with its reading speed."""

    engine: str
    score: OcrScore
    ms_per_crop: float
    predictions: tuple[str, ...]
    #: (handwritten dates whose calendar value was read right, handwritten dates).
    dates: tuple[int, int] = (0, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "crops": self.score.crops,
            "cer": round(self.score.cer, 4),
            "word_accuracy": round(self.score.word_accuracy, 4),
            "exact": self.score.exact,
            "ms_per_crop": round(self.ms_per_crop, 1),
            "date_accuracy": round(self.date_accuracy, 4),
            "dates": list(self.dates),
        }

    @property
    def date_accuracy(self) -> float:
        return self.dates[0] / max(self.dates[1], 1)


def load_split(
    transcriptions: Path, images_dir: Path, *, split: str
) -> list[tuple[LabelledCrop, np.ndarray]]:
    """Legible crops of the `validation`, `train` or `all` documents, with their pixels."""
    crops = load_transcriptions(transcriptions)
    if split != "all":
        crops = [crop for crop in crops if crop.is_validation == (split == "validation")]
    return list(read_crops(crops, images_dir))


def run_recognizer(
    recognizer: HandwritingRecognizer, crops: Sequence[np.ndarray], *, batch_size: int
) -> tuple[list[Recognition], float]:
    """All recognitions and the milliseconds spent per crop."""
    started = time.perf_counter()
    results: list[Recognition] = []
    for start in range(0, len(crops), batch_size):
        results.extend(recognizer.recognize(crops[start : start + batch_size]))
    elapsed_ms = (time.perf_counter() - started) * 1000
    return results, elapsed_ms / max(len(crops), 1)


def evaluate_engines(
    settings: Settings,
    *,
    transcriptions: Path,
    images_dir: Path,
    engines: Sequence[str],
    split: str = "validation",
    on_progress: ProgressCallback | None = None,
) -> list[EngineResult]:
    """Score each engine on the same crops; `auto` is reported under the engine it resolves to."""
    labelled = load_split(transcriptions, images_dir, split=split)
    crops = [pixels for _, pixels in labelled]
    references = [crop.text for crop, _ in labelled]
    rows: list[EngineResult] = []
    for done, engine in enumerate(engines):
        if on_progress is not None:
            on_progress("engines", done, len(engines), engine)
        if engine in CROSS_VALIDATED:
            # Their settings were chosen on these crops: each crop is read with the settings
            # chosen on the other documents.
            predictions, ms_per_crop = _cross_validated(settings, labelled, engine)
            rows.append(_row(engine, predictions, references, ms_per_crop))
            continue
        name = resolve_engine(settings, engine=engine)
        recognizer = build_recognizer(settings, engine=name)
        # One warm-up call, so model loading and graph building are not counted as reading time.
        recognizer.recognize(crops[:1])
        results, ms_per_crop = run_recognizer(recognizer, crops, batch_size=settings.handwriting.batch_size)
        predictions = tuple(result.text for result in results)
        label = name if engine != "auto" else f"{name} (auto)"
        rows.append(_row(label, predictions, references, ms_per_crop))
        log.info("%s: %s", label, rows[-1].as_dict())
    if on_progress is not None:
        on_progress("engines", len(engines), len(engines), "done")
    return rows


def _row(
    label: str, predictions: Sequence[str], references: Sequence[str], ms_per_crop: float
) -> EngineResult:
    return EngineResult(
        label,
        score(predictions, references),
        ms_per_crop,
        tuple(predictions),
        date_accuracy(predictions, references),
    )


def _cross_validated(
    settings: Settings, labelled: list[tuple[LabelledCrop, np.ndarray]], engine: str
) -> tuple[tuple[str, ...], float]:
    """Held-out readings of `ppocr`, `ppocr+typed` or `ensemble`, and the reading time per crop."""
    from indexer.backends.htr.lines import LineSplitOptions, default_splitter

    crops = [pixels for _, pixels in labelled]
    ppocr = build_recognizer(settings, engine="ppocr")
    htr = build_recognizer(settings, engine="htr") if engine == "ensemble" else None
    if not isinstance(ppocr, LineSplittingRecognizer) or not isinstance(ppocr.inner, PpOcrRecognizer):
        raise ConfigError(f"{engine} is scored on cut lines: set INDEXER_HANDWRITING__SPLIT_LINES=true")
    reader = ppocr.inner
    if reader.typed is None:
        reader.typed = TypedDecoder(reader.vocabulary, margin=0.0)
    htr_lines = htr.inner if isinstance(htr, LineSplittingRecognizer) else htr
    if htr_lines is not None:
        # htr reads the ensemble's lines, with its own cut of long ones.
        htr_lines = LineSplittingRecognizer(
            htr_lines, LineSplitter(LineSplitOptions(max_line_aspect=_htr_aspect(htr_lines)))
        )
    started = time.perf_counter()
    lines = collect_lines(crops, reader, default_splitter(LineSplitOptions()), htr=htr_lines)
    ms_per_crop = (time.perf_counter() - started) * 1000 / max(len(crops), 1)
    images = [crop.image for crop, _ in labelled]
    references = [crop.text for crop, _ in labelled]
    if engine == "ensemble":
        result = cross_validate(
            lines,
            references,
            images,
            read=lambda line, s: ensemble_text(line, s[0], s[1], s[2]),
            grid=settings_grid(engine),
        )
    else:
        # `ppocr` is the engine without typed decoding: its grid's margins are negative.
        result = cross_validate(
            lines,
            references,
            images,
            read=lambda line, s: typed_text(line, s[0], s[1]),
            grid=settings_grid(engine),
        )
    log.info("%s: settings per fold %s, on all documents %s", engine, result.chosen, result.chosen_on_all)
    return result.predictions, ms_per_crop


def _htr_aspect(recognizer: HandwritingRecognizer) -> float | None:
    from indexer.backends.htr.ctc import CtcRecognizer

    if isinstance(recognizer, CtcRecognizer):
        return recognizer.config.max_width / recognizer.config.input_height
    return None
