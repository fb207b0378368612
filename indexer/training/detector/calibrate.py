"""Choose the detector's decoding settings by nested cross-validation over its fold models.

Four `DetectorConfig` settings change how the net's reading of a page becomes boxes, never the
net: `annotation_prior` (weighs the annotation side of the class decision; the net calls cursive
names and dates written under a signature signatures more often than the reverse),
`test_scales` (the page read at several scales and the outputs averaged), `class_overlap_share`
(of two stacked boxes of different classes, keep one) and `merge_share` (merge overlapping boxes
of one class). A `Decoding` is one combination of them and a `DecodingGrid` the combinations tried.

They are choices made on evaluation pages, so they are made so that the pages a figure is
reported on never chose them: for each fold model, the combination is the one that scores best on
the held-out pages of the *other* folds (scored with their own models), and the pooled figures
use each fold's own choice. The shipped model, which trained on every document, gets the
combination that scores best on all folds' held-out pages, as a hyper-parameter picked by
cross-validation is.

The score is `median_mean`, the mean of the four medians the issue sets targets for. Each fold
model reads each of its held-out pages once per set of test scales; only the decoding and the
refiner run per combination.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.backends.detector.predictor import TfBoxDetector
from indexer.errors import InputError
from indexer.images import read_rgb
from indexer.model_dirs.calibration import write_calibration
from indexer.model_dirs.detector import CONFIG_FILE, DetectorConfig
from indexer.model_dirs.split import read_split
from indexer.training.data.splits import document_of
from indexer.training.data.voc import LabelledPage
from indexer.training.detector.card import CARD_FILE, put_card_section
from indexer.training.detector.evaluate import (
    EvaluationReport,
    PageDetections,
    format_report,
    median_mean,
    score_detections,
)
from indexer.training.detector.options import Decoding, DecodingGrid

if TYPE_CHECKING:
    from indexer.training.detector.train import ProgressCallback

__all__ = [
    "Calibration",
    "FoldChoice",
    "apply_calibration",
    "best_decoding",
    "calibrate_decoding",
    "format_calibration",
]

log = logging.getLogger(__name__)

#: Written beside `detector.json` in every folder whose decoding a calibration set.


@dataclass(frozen=True, slots=True)
class FoldChoice:
    """One fold model's nested choice."""

    model_dir: Path
    #: `median_mean` on the other folds' held-out pages, per combination.
    elsewhere: dict[Decoding, float]
    chosen: Decoding


@dataclass(frozen=True, slots=True)
class Calibration:
    decodings: tuple[Decoding, ...]
    folds: list[FoldChoice]
    #: `median_mean` on every fold's held-out pages, each scored by its own fold model.
    pooled: dict[Decoding, float]
    #: The combination for a model trained on every document: the best of `pooled`.
    pooled_choice: Decoding
    #: All held-out pages, each fold model at its nested choice: the honest figures.
    nested_report: EvaluationReport
    #: The same pages with the plain decoding (`Decoding()`), for comparison.
    baseline_report: EvaluationReport


def best_decoding(scores: dict[Decoding, float]) -> Decoding:
    """The combination with the highest score; of equal scores, the smallest change from the
    plain decoding. A NaN score (a class no page scored) counts as the worst."""
    if not scores:
        raise InputError("no decoding was scored")

    def rank(decoding: Decoding) -> tuple[float, tuple[float, ...]]:
        score = scores[decoding]
        return (-math.inf if math.isnan(score) else round(score, 9)), tuple(-x for x in decoding.change())

    return max(scores, key=rank)


def calibrate_decoding(
    model_dirs: Sequence[Path],
    pages: Sequence[LabelledPage],
    *,
    grid: DecodingGrid | None = None,
    on_progress: ProgressCallback | None = None,
) -> Calibration:
    """Score every combination on every fold's held-out pages and make the nested choices.

    Raises:
        InputError: fewer than two fold models, a model without held-out documents, folds that
            share a held-out document, or a fold none of whose held-out pages is in `pages`.
    """
    decodings = tuple((grid or DecodingGrid()).combinations())
    found = _detections(model_dirs, _held_out_documents(model_dirs), pages, decodings, on_progress)

    def pooled_over(folds: Sequence[int], choice: dict[int, Decoding]) -> EvaluationReport:
        return score_detections([item for fold in folds for item in found[(fold, choice[fold])]])

    indices = range(len(model_dirs))
    choices = []
    for index, model_dir in enumerate(model_dirs):
        others = [other for other in indices if other != index]
        elsewhere = {
            decoding: median_mean(pooled_over(others, dict.fromkeys(others, decoding)))
            for decoding in decodings
        }
        choices.append(FoldChoice(model_dir, elsewhere, best_decoding(elsewhere)))
    reports = {decoding: pooled_over(indices, dict.fromkeys(indices, decoding)) for decoding in decodings}
    pooled = {decoding: median_mean(report) for decoding, report in reports.items()}
    nested = pooled_over(indices, {index: choice.chosen for index, choice in enumerate(choices)})
    return Calibration(decodings, choices, pooled, best_decoding(pooled), nested, reports[Decoding()])


def format_calibration(calibration: Calibration) -> str:
    """The scores per combination, the choices, and the nested figures against the plain decoding."""
    names = [choice.model_dir.name for choice in calibration.folds]
    settings = f"{'prior':>6}{'scales':>13}{'overlap':>9}{'merge':>7}"
    lines = [
        "mean of the four medians (each fold's column: on the other folds' held-out pages)",
        settings + "".join(f"{name:>10}" for name in names) + f"{'all':>10}",
    ]
    for decoding in calibration.decodings:
        prior, scales, overlap, merge = decoding.cells()
        row = "".join(f"{choice.elsewhere[decoding]:>10.4f}" for choice in calibration.folds)
        lines.append(
            f"{prior:>6}{scales:>13}{overlap:>9}{merge:>7}{row}{calibration.pooled[decoding]:>10.4f}"
        )
    return "\n".join(lines) + "\n" + _format_choices(calibration)


def _format_choices(calibration: Calibration) -> str:
    """The choices and the nested figures against the plain decoding (the card's part; the scores
    per combination are in `calibration.json`)."""
    names = [choice.model_dir.name for choice in calibration.folds]
    lines = ["chosen (prior, scales, overlap, merge):"]
    for name, choice in zip(names, calibration.folds, strict=True):
        lines.append(f"  {name}: {', '.join(choice.chosen.cells())}")
    lines += [
        f"  all folds (a model trained on every document): {', '.join(calibration.pooled_choice.cells())}",
        "",
        "held-out pages, each fold at its own choice:",
        format_report(calibration.nested_report),
        "",
        "the same pages with the plain decoding (prior 1, one scale, no overlap rule, no merging):",
        format_report(calibration.baseline_report),
    ]
    return "\n".join(lines)


def apply_calibration(calibration: Calibration, shipped: Sequence[Path], command: str) -> None:
    """Write each fold's nested choice into its folder and the pooled choice into each of
    `shipped`: the settings in `detector.json`, the record in `calibration.json`, and a section
    in `MODEL_CARD.md`."""
    table = _format_choices(calibration)
    for choice in calibration.folds:
        record = {"chosen_on": "the other folds' held-out pages", "scores": _scores(choice.elsewhere)}
        _write(choice.model_dir, choice.chosen, {**record, "command": command}, table)
    for model_dir in shipped:
        record = {"chosen_on": "every fold's held-out pages", "scores": _scores(calibration.pooled)}
        _write(model_dir, calibration.pooled_choice, {**record, "command": command}, table)


def _scores(scores: dict[Decoding, float]) -> list[dict[str, object]]:
    return [{**decoding.record(), "score": round(value, 6)} for decoding, value in scores.items()]


def _write(model_dir: Path, decoding: Decoding, record: dict[str, object], table: str) -> None:
    # detector.json is edited as JSON so that keys this version does not know survive.
    config_path = model_dir / CONFIG_FILE
    data = json.loads(config_path.read_text(encoding="utf-8"))
    data.update(decoding.record())
    config_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    record = {**decoding.record(), **record}
    write_calibration(model_dir, record)
    _update_card(model_dir / CARD_FILE, decoding, record, table)
    log.info("%s: decoding %s", model_dir, ", ".join(decoding.cells()))


def _update_card(card: Path, decoding: Decoding, record: dict[str, object], table: str) -> None:
    """Replace the card's decoding section, or add one at the end."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    prior, scales, overlap, merge = decoding.cells()
    section = (
        f"{_CARD_HEADING}\n\n"
        f"`annotation_prior` {prior}, `test_scales` {scales}, `class_overlap_share` {overlap}, "
        f"`merge_share` {merge}, chosen on {record['chosen_on']} by mean of the four medians "
        f"({when}; `indexer.training.detector.calibrate`; every combination's score is in "
        "`calibration.json`):\n\n"
        f"    {record['command']}\n\n```\n{table}\n```\n"
    )
    put_card_section(card, section)


_CARD_HEADING = "## Decoding settings (`indexer calibrate-detector`)"


def _detections(
    model_dirs: Sequence[Path],
    held_out: Sequence[frozenset[str]],
    pages: Sequence[LabelledPage],
    decodings: Sequence[Decoding],
    on_progress: ProgressCallback | None,
) -> dict[tuple[int, Decoding], list[PageDetections]]:
    """{(fold index, decoding): detections on that fold's held-out pages}; each page is read by
    the net once per set of test scales and decoded once per combination."""
    found: dict[tuple[int, Decoding], list[PageDetections]] = {}
    total = sum(1 for page in pages if any(document_of(page.stem) in held for held in held_out))
    done = 0
    for index, (model_dir, held) in enumerate(zip(model_dirs, held_out, strict=True)):
        detector = TfBoxDetector(model_dir)
        # Built before any page is read, so a setting the model's config refuses (a share
        # outside (0, 1], a prior without the box head) stops the run at once with its message.
        by_scales: dict[tuple[float, ...], list[tuple[Decoding, DetectorConfig]]] = {}
        for decoding in decodings:
            by_scales.setdefault(decoding.test_scales, []).append(
                (decoding, decoding.applied_to(detector.config))
            )
        fold_pages = [page for page in pages if document_of(page.stem) in held]
        if not fold_pages:
            raise InputError(f"none of the given pages is held out by the fold model in {model_dir}")
        for page in fold_pages:
            image = read_rgb(page.image_path)
            for scales, configs in by_scales.items():
                reading = detector.read(image, scales)
                size = (reading.grey.shape[0], reading.grey.shape[1])
                for decoding, config in configs:
                    detections = detector.boxes(reading, config)
                    found.setdefault((index, decoding), []).append(PageDetections(page, detections, size))
            done += 1
            if on_progress is not None:
                on_progress("calibrating", done, total, page.stem)
    return found


def _held_out_documents(model_dirs: Sequence[Path]) -> list[frozenset[str]]:
    if len(model_dirs) < 2:
        raise InputError(
            "choosing decoding settings by nested cross-validation needs at least two fold models "
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
