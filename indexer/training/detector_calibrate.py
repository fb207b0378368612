"""Choose the detector's `annotation_prior` by nested cross-validation over its fold models.

The net's class decision for a box is the class with the higher mean probability over the box's
kernel. On held-out documents it calls cursive names and dates written under a signature
signatures more often than the reverse, and that costs signature precision and annotation recall
together. `annotation_prior` weighs the annotation side of the decision; it changes no weights.

The prior is a choice made on evaluation pages, so it is made so that the pages a figure is
reported on never chose it: for each fold model, the prior is the one that scores best on the
held-out pages of the *other* folds (scored with their own models), and the pooled figures use
each fold's own choice. The shipped model, which trained on every document, gets the prior that
scores best on all folds' held-out pages, as a hyper-parameter picked by cross-validation is.

The score is `median_mean`, the mean of the four medians the issue sets targets for. Each fold
model reads each of its held-out pages once; only the decoding and the refiner run per prior.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.backends.tf_detector import CONFIG_FILE, TfBoxDetector
from indexer.errors import InputError
from indexer.training.detector_card import CARD_FILE, put_card_section
from indexer.training.detector_eval import (
    EvaluationReport,
    PageDetections,
    format_report,
    median_mean,
    score_detections,
)
from indexer.training.detector_train import read_rgb, read_split
from indexer.training.splits import document_of
from indexer.training.voc import LabelledPage

if TYPE_CHECKING:
    from indexer.training.detector_train import ProgressCallback

__all__ = [
    "CALIBRATION_FILE",
    "DEFAULT_PRIORS",
    "Calibration",
    "FoldChoice",
    "apply_calibration",
    "best_prior",
    "calibrate_prior",
    "format_calibration",
]

log = logging.getLogger(__name__)

#: The priors tried: 1 is the net's own decision.
DEFAULT_PRIORS = (1.0, 1.25, 1.5, 2.0, 3.0)
#: Written beside `detector.json` in every folder whose prior a calibration set.
CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True, slots=True)
class FoldChoice:
    """One fold model's nested choice."""

    model_dir: Path
    #: `median_mean` on the other folds' held-out pages, per prior.
    elsewhere: dict[float, float]
    chosen: float


@dataclass(frozen=True, slots=True)
class Calibration:
    priors: tuple[float, ...]
    folds: list[FoldChoice]
    #: `median_mean` on every fold's held-out pages, each scored by its own fold model, per prior.
    pooled: dict[float, float]
    #: The prior for a model trained on every document: the best of `pooled`.
    pooled_choice: float
    #: All held-out pages, each fold model at its nested choice: the honest figures.
    nested_report: EvaluationReport
    #: The same pages with the net's own decision (prior 1), for comparison.
    baseline_report: EvaluationReport


def best_prior(scores: dict[float, float]) -> float:
    """The prior with the highest score; of equal scores, the one nearest 1 (the smallest change).
    A NaN score (a class no page scored) counts as the worst."""
    if not scores:
        raise InputError("no prior was scored")

    def rank(prior: float) -> tuple[float, float]:
        score = scores[prior]
        return (-math.inf if math.isnan(score) else round(score, 9)), -abs(prior - 1.0)

    return max(scores, key=rank)


def calibrate_prior(
    model_dirs: Sequence[Path],
    pages: Sequence[LabelledPage],
    *,
    priors: Sequence[float] = DEFAULT_PRIORS,
    on_progress: ProgressCallback | None = None,
) -> Calibration:
    """Score every prior on every fold's held-out pages and make the nested choices.

    Raises:
        InputError: fewer than two fold models, a model without held-out documents, folds that
            share a held-out document, or a fold none of whose held-out pages is in `pages`.
    """
    priors = tuple(sorted({1.0, *priors}))  # the net's own decision is always the baseline
    found = _detections(model_dirs, _held_out_documents(model_dirs), pages, priors, on_progress)

    def pooled_over(folds: Sequence[int], choice: dict[int, float]) -> EvaluationReport:
        return score_detections([item for fold in folds for item in found[(fold, choice[fold])]])

    indices = range(len(model_dirs))
    choices = []
    for index, model_dir in enumerate(model_dirs):
        others = [other for other in indices if other != index]
        elsewhere = {
            prior: median_mean(pooled_over(others, dict.fromkeys(others, prior))) for prior in priors
        }
        choices.append(FoldChoice(model_dir, elsewhere, best_prior(elsewhere)))
    reports = {prior: pooled_over(indices, dict.fromkeys(indices, prior)) for prior in priors}
    pooled = {prior: median_mean(report) for prior, report in reports.items()}
    nested = pooled_over(indices, {index: choice.chosen for index, choice in enumerate(choices)})
    return Calibration(priors, choices, pooled, best_prior(pooled), nested, reports[1.0])


def format_calibration(calibration: Calibration) -> str:
    """The scores per prior, the choices, and the nested figures against the net's own decision."""
    names = [choice.model_dir.name for choice in calibration.folds]
    lines = [
        "mean of the four medians (each fold's column: on the other folds' held-out pages)",
        f"{'prior':>6}" + "".join(f"{name:>10}" for name in names) + f"{'all':>10}",
    ]
    for prior in calibration.priors:
        row = "".join(f"{choice.elsewhere[prior]:>10.4f}" for choice in calibration.folds)
        lines.append(f"{prior:>6g}{row}{calibration.pooled[prior]:>10.4f}")
    chosen = ", ".join(
        f"{name} {choice.chosen:g}" for name, choice in zip(names, calibration.folds, strict=True)
    )
    lines += [
        f"chosen: {chosen}; all folds (for a model trained on every document) {calibration.pooled_choice:g}",
        "",
        "held-out pages, each fold at its own choice:",
        format_report(calibration.nested_report),
        "",
        "the same pages with the net's own decision (prior 1):",
        format_report(calibration.baseline_report),
    ]
    return "\n".join(lines)


def apply_calibration(calibration: Calibration, shipped: Sequence[Path], command: str) -> None:
    """Write each fold's nested choice into its folder and the pooled choice into each of
    `shipped`: `annotation_prior` in `detector.json`, the record in `calibration.json`, and a
    section in `MODEL_CARD.md`."""
    table = format_calibration(calibration)
    scores = {f"{prior:g}": round(value, 6) for prior, value in calibration.pooled.items()}
    for choice in calibration.folds:
        elsewhere = {f"{prior:g}": round(value, 6) for prior, value in choice.elsewhere.items()}
        record = {"annotation_prior": choice.chosen, "chosen_on": "the other folds' held-out pages"}
        _write(choice.model_dir, choice.chosen, {**record, "scores": elsewhere, "command": command}, table)
    for model_dir in shipped:
        record = {"annotation_prior": calibration.pooled_choice, "chosen_on": "every fold's held-out pages"}
        _write(model_dir, calibration.pooled_choice, {**record, "scores": scores, "command": command}, table)


def _write(model_dir: Path, prior: float, record: dict[str, object], table: str) -> None:
    # detector.json is edited as JSON so that keys this version does not know survive.
    config_path = model_dir / CONFIG_FILE
    data = json.loads(config_path.read_text(encoding="utf-8"))
    data["annotation_prior"] = prior
    config_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (model_dir / CALIBRATION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _update_card(model_dir / CARD_FILE, prior, record, table)
    log.info("%s: annotation_prior %g", model_dir, prior)


def _update_card(card: Path, prior: float, record: dict[str, object], table: str) -> None:
    """Replace the card's class-prior section, or add one at the end."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"{_CARD_HEADING}\n\n"
        f"`annotation_prior` {prior:g}, chosen on {record['chosen_on']} by mean of the four medians "
        f"({when}; `indexer.training.detector_calibrate`):\n\n"
        f"    {record['command']}\n\n```\n{table}\n```\n"
    )
    put_card_section(card, section)


_CARD_HEADING = "## Class prior (`indexer calibrate-detector`)"


def _detections(
    model_dirs: Sequence[Path],
    held_out: Sequence[frozenset[str]],
    pages: Sequence[LabelledPage],
    priors: Sequence[float],
    on_progress: ProgressCallback | None,
) -> dict[tuple[int, float], list[PageDetections]]:
    """{(fold index, prior): detections on that fold's held-out pages}; each page is read by the
    net once and decoded once per prior."""
    found: dict[tuple[int, float], list[PageDetections]] = {}
    total = sum(1 for page in pages if any(document_of(page.stem) in held for held in held_out))
    done = 0
    for index, (model_dir, held) in enumerate(zip(model_dirs, held_out, strict=True)):
        detector = TfBoxDetector(model_dir)
        fold_pages = [page for page in pages if document_of(page.stem) in held]
        if not fold_pages:
            raise InputError(f"none of the given pages is held out by the fold model in {model_dir}")
        for page in fold_pages:
            reading = detector.read(read_rgb(page.image_path))
            size = (reading.grey.shape[0], reading.grey.shape[1])
            for prior in priors:
                detections = detector.boxes(reading, replace(detector.config, annotation_prior=prior))
                found.setdefault((index, prior), []).append(PageDetections(page, detections, size))
            done += 1
            if on_progress is not None:
                on_progress("calibrating", done, total, page.stem)
    return found


def _held_out_documents(model_dirs: Sequence[Path]) -> list[frozenset[str]]:
    if len(model_dirs) < 2:
        raise InputError(
            "choosing the prior by nested cross-validation needs at least two fold models "
            "(train them with `indexer train-detector --hold-out K/N`)"
        )
    held_out: list[frozenset[str]] = []
    for model_dir in model_dirs:
        record = read_split(model_dir)
        if record is None or not record.held_out_documents:
            raise InputError(f"{model_dir} held no documents out (its split.json); it cannot be a fold")
        for earlier, other in zip(model_dirs, held_out, strict=False):
            shared = other & record.held_out_documents
            if shared:
                raise InputError(f"{model_dir} and {earlier} both hold out {sorted(shared)[0]}")
        held_out.append(frozenset(record.held_out_documents))
    return held_out
