"""`indexer evaluate-ocr`: run engines on the labelled crops of a split and score them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.backends.base import HandwritingRecognizer, Recognition
from indexer.backends.select import build_recognizer, resolve_engine
from indexer.config import Settings
from indexer.training.htr.metrics import OcrScore, score
from indexer.training.htr.transcriptions import LabelledCrop, load_transcriptions, read_crops

__all__ = ["EngineResult", "evaluate_engines", "load_split", "run_recognizer"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class EngineResult:
    """One engine's scores on the crops, with its reading speed."""

    engine: str
    score: OcrScore
    ms_per_crop: float
    predictions: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "crops": self.score.crops,
            "cer": round(self.score.cer, 4),
            "word_accuracy": round(self.score.word_accuracy, 4),
            "exact": self.score.exact,
            "ms_per_crop": round(self.ms_per_crop, 1),
        }


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
            on_progress(done, len(engines), engine)
        name = resolve_engine(settings, engine=engine)
        recognizer = build_recognizer(settings, engine=name)
        # One warm-up call, so model loading and graph building are not counted as reading time.
        recognizer.recognize(crops[:1])
        results, ms_per_crop = run_recognizer(recognizer, crops, batch_size=settings.handwriting.batch_size)
        predictions = tuple(result.text for result in results)
        label = name if engine != "auto" else f"{name} (auto)"
        rows.append(EngineResult(label, score(predictions, references), ms_per_crop, predictions))
        log.info("%s: %s", label, rows[-1].as_dict())
    if on_progress is not None:
        on_progress(len(engines), len(engines), "done")
    return rows
