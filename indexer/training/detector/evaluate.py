"""The seed paper's detector metric, plus box-level AP@0.5, with CSV / JSON / box-plot reports.

Per image and class: At = union of the labelled boxes' pixels, Am = union of the predicted boxes'
pixels, Ai = At ∩ Am; recall = |Ai| / |At|, precision = |Ai| / |Am|. A class present on one side
only scores 0 and 0; a class absent on both sides leaves the page out for that class.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from indexer.backends.base import BoxDetector, Detection
from indexer.document import Box, HandwritingKind
from indexer.errors import InputError
from indexer.model_dirs.split import read_split, stems_trained_on
from indexer.training.data.splits import document_of, is_validation_document
from indexer.training.data.voc import LabelledBox, LabelledPage

if TYPE_CHECKING:
    from indexer.training.detector.train import ProgressCallback

__all__ = [
    "SPLITS",
    "EvaluationReport",
    "PageDetections",
    "PageScore",
    "ResizedBoxes",
    "average_precision",
    "check_split",
    "evaluate_assigned",
    "evaluate_detector",
    "evaluate_held_out",
    "evaluate_split",
    "format_report",
    "median_mean",
    "page_scores",
    "quartiles",
    "score_detections",
    "write_report",
]

log = logging.getLogger(__name__)

KINDS = (HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION)
METRICS = ("precision", "recall")
IOU_THRESHOLD = 0.5
_STAT_NAMES = ("min", "q1", "median", "q3", "max")
#: `evaluate --split` choices: the fixed split's pages, or the documents each model held out.
SPLITS = ("validation", "train", "all", "held-out")


@dataclass(frozen=True, slots=True)
class PageScore:
    """Pixel precision and recall of one class on one page."""

    image: str
    kind: HandwritingKind
    precision: float
    recall: float
    labelled_px: int
    predicted_px: int
    intersection_px: int


@dataclass(slots=True)
class EvaluationReport:
    scores: list[PageScore] = field(default_factory=list)
    average_precision: dict[str, float] = field(default_factory=dict)
    pages: int = 0

    def values(self, kind: HandwritingKind, metric: str) -> list[float]:
        return [float(getattr(score, metric)) for score in self.scores if score.kind is kind]

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """{kind: {metric: {min, q1, median, q3, max}}} plus the AP@0.5 per kind."""
        result: dict[str, dict[str, dict[str, float]]] = {}
        for kind in KINDS:
            result[str(kind)] = {metric: quartiles(self.values(kind, metric)) for metric in METRICS}
            result[str(kind)]["ap50"] = {"value": self.average_precision.get(str(kind), float("nan"))}
            result[str(kind)]["pages"] = {"value": float(len(self.values(kind, "precision")))}
        return result


class PageDetections(NamedTuple):
    """A labelled page, what a detector found on it, and the image's (height, width)."""

    page: LabelledPage
    detections: Sequence[Detection]
    size: tuple[int, int]


@dataclass(slots=True)
class ResizedBoxes:
    """A detector whose boxes are scaled about their centres: a diagnostic (`evaluate --box-scale`)
    that shows how much precision a model would trade for recall by box size alone."""

    detector: BoxDetector
    factor: float
    name: str = field(init=False)
    version: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.detector.name
        self.version = f"{self.detector.version}, boxes x{self.factor:g}"

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        return [
            Detection(found.kind, found.box.resized(self.factor, width, height), found.score)
            for found in self.detector.detect(image)
        ]


def _union_mask(boxes: Sequence[Box], height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    for box in boxes:
        mask[box.y0 : box.y1, box.x0 : box.x1] = True
    return mask


def page_scores(
    image: str, truth: Sequence[LabelledBox], predicted: Sequence[Detection], size: tuple[int, int]
) -> list[PageScore]:
    """The paper's per-class pixel precision and recall for one (height, width) page."""
    height, width = size
    scores = []
    for kind in KINDS:
        labelled = _union_mask([item.box for item in truth if item.kind is kind], height, width)
        marked = _union_mask([item.box for item in predicted if item.kind is kind], height, width)
        labelled_px, predicted_px = int(labelled.sum()), int(marked.sum())
        if labelled_px == 0 and predicted_px == 0:
            continue
        shared = int((labelled & marked).sum())
        precision = shared / predicted_px if predicted_px else 0.0
        recall = shared / labelled_px if labelled_px else 0.0
        scores.append(PageScore(image, kind, precision, recall, labelled_px, predicted_px, shared))
    return scores


def average_precision(
    truths: Sequence[Sequence[Box]],
    predictions: Sequence[Sequence[tuple[Box, float]]],
    *,
    iou: float = IOU_THRESHOLD,
) -> float:
    """VOC all-point AP of one class over images: predictions match unmatched truths at IoU >= `iou`.

    Returns NaN when there are no labelled boxes at all.
    """
    total = sum(len(boxes) for boxes in truths)
    if total == 0:
        return float("nan")
    ranked = sorted(
        ((score, image, box) for image, boxes in enumerate(predictions) for box, score in boxes),
        key=lambda item: -item[0],
    )
    matched = [[False] * len(boxes) for boxes in truths]
    hits = []
    for _, image, box in ranked:
        overlaps = [box.iou(other) for other in truths[image]]
        best = int(np.argmax(overlaps)) if overlaps else -1
        is_hit = best >= 0 and overlaps[best] >= iou and not matched[image][best]
        if is_hit:
            matched[image][best] = True
        hits.append(is_hit)
    true_positives = np.cumsum(hits)
    recall = np.concatenate([[0.0], true_positives / total, [1.0]])
    precision = np.concatenate([[1.0], true_positives / np.arange(1, len(hits) + 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def quartiles(values: Sequence[float]) -> dict[str, float]:
    """min, first quartile, median, third quartile and max (linear interpolation); NaN if empty."""
    if not values:
        return dict.fromkeys(_STAT_NAMES, float("nan"))
    points = np.percentile(np.asarray(values, float), [0, 25, 50, 75, 100])
    return {name: float(value) for name, value in zip(_STAT_NAMES, points, strict=True)}


def select_pages(pages: Sequence[LabelledPage], split: str) -> list[LabelledPage]:
    """`validation` (held-out documents), `train`, or `all` pages."""
    if split == "all":
        return list(pages)
    want_validation = split == "validation"
    return [page for page in pages if is_validation_document(document_of(page.stem)) == want_validation]


def check_split(split: str, *, models: int) -> None:
    """Raises InputError for a split not in `SPLITS`, or for several models on any split but
    `held-out` (only held-out pages are pooled over models)."""
    if split not in SPLITS:
        raise InputError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    if models > 1 and split != "held-out":
        raise InputError("several --model folders are pooled only with --split held-out")


def evaluate_split(
    detectors: Sequence[tuple[BoxDetector, Path | None]],
    pages: Sequence[LabelledPage],
    split: str,
    *,
    on_progress: ProgressCallback | None = None,
) -> EvaluationReport:
    """Score the detectors, each given with its model folder (None: no `split.json` to read).

    `held-out` scores each page with the model that never trained on its document (from the
    folders' `split.json`); any other split scores the one detector on `select_pages` and warns
    when it trained on some of them.

    Raises:
        InputError: `check_split` refuses the split, or a folder has no (or a broken) `split.json`.
    """
    check_split(split, models=len(detectors))
    if split == "held-out":
        models = [(detector, _held_out_documents(folder)) for detector, folder in detectors]
        return evaluate_held_out(models, pages, on_progress=on_progress)
    detector, folder = detectors[0]
    chosen = select_pages(pages, split)
    _warn_if_trained_on(folder, chosen)
    return evaluate_assigned([(page, detector) for page in chosen], on_progress=on_progress)


def _held_out_documents(model_dir: Path | None) -> frozenset[str]:
    """The documents a trained model never saw, from its split.json."""
    record = None if model_dir is None else read_split(model_dir)
    if record is None:
        raise InputError(
            f"{model_dir} has no split.json, so its held-out documents are unknown; "
            "use --split validation for models trained before split.json existed"
        )
    return record.held_out_documents


def _warn_if_trained_on(model_dir: Path | None, chosen: Sequence[LabelledPage]) -> None:
    """Say so when the chosen pages include documents the model trained on (then it is fit, not skill)."""
    if model_dir is None:
        return
    seen = stems_trained_on(model_dir, [page.stem for page in chosen])
    if seen:
        log.warning(
            "%s trained on %d of these %d pages (split.json): the figures show how well it fits them, "
            "not how it does on new documents; for those, evaluate models trained with --hold-out "
            "on the documents they held out (--split held-out)",
            model_dir,
            len(seen),
            len(chosen),
        )


def evaluate_detector(
    detector: BoxDetector,
    pages: Sequence[LabelledPage],
    *,
    split: str = "validation",
    on_progress: ProgressCallback | None = None,
) -> EvaluationReport:
    """Run the detector on the chosen pages and score it."""
    chosen = select_pages(pages, split)
    return evaluate_assigned([(page, detector) for page in chosen], on_progress=on_progress)


def evaluate_held_out(
    models: Sequence[tuple[BoxDetector, Set[str]]],
    pages: Sequence[LabelledPage],
    *,
    on_progress: ProgressCallback | None = None,
) -> EvaluationReport:
    """Score each page with the first model that held its document out (cross-validation pooling).

    `models` pairs each detector with the documents it never trained on; pages no model held
    out are left out.
    """
    assigned = []
    for page in pages:
        document = document_of(page.stem)
        chosen = next((detector for detector, held_out in models if document in held_out), None)
        if chosen is not None:
            assigned.append((page, chosen))
    return evaluate_assigned(assigned, on_progress=on_progress)


def evaluate_assigned(
    assigned: Sequence[tuple[LabelledPage, BoxDetector]], *, on_progress: ProgressCallback | None = None
) -> EvaluationReport:
    """Score each page with its own detector; AP pools every page's boxes."""
    from indexer.images import read_rgb

    found = []
    for index, (page, detector) in enumerate(assigned):
        image = read_rgb(page.image_path)
        found.append(PageDetections(page, detector.detect(image), image.shape[:2]))
        if on_progress is not None:
            on_progress("evaluating", index + 1, len(assigned), page.stem)
    return score_detections(found)


def score_detections(found: Sequence[PageDetections]) -> EvaluationReport:
    """The report for detections already made."""
    report = EvaluationReport(pages=len(found))
    truths: dict[HandwritingKind, list[list[Box]]] = {kind: [] for kind in KINDS}
    predicted: dict[HandwritingKind, list[list[tuple[Box, float]]]] = {kind: [] for kind in KINDS}
    for page, detections, size in found:
        report.scores.extend(page_scores(page.stem, page.boxes, detections, size))
        for kind in KINDS:
            truths[kind].append([item.box for item in page.boxes if item.kind is kind])
            predicted[kind].append([(d.box, d.score) for d in detections if d.kind is kind])
    report.average_precision = {str(kind): average_precision(truths[kind], predicted[kind]) for kind in KINDS}
    return report


def median_mean(report: EvaluationReport) -> float:
    """The mean of the four medians (precision and recall of both classes): the issue's targets
    weigh them alike. NaN when a class has no scored page."""
    summary = report.summary()
    return float(np.mean([summary[str(kind)][metric]["median"] for kind in KINDS for metric in METRICS]))


def format_report(report: EvaluationReport) -> str:
    """A plain-text table: per class and metric, min / Q1 / median / Q3 / max, then AP@0.5."""
    lines = [
        f"{report.pages} pages",
        f"{'class':<11}{'metric':<10}{'pages':>6}" + "".join(f"{name:>8}" for name in _STAT_NAMES),
    ]
    summary = report.summary()
    for kind in KINDS:
        count = len(report.values(kind, "precision"))
        for metric in METRICS:
            stats = summary[str(kind)][metric]
            lines.append(
                f"{kind!s:<11}{metric:<10}{count:>6}" + "".join(f"{stats[n]:>8.3f}" for n in _STAT_NAMES)
            )
    lines.append("AP@0.5: " + ", ".join(f"{k} {v:.3f}" for k, v in report.average_precision.items()))
    return "\n".join(lines)


def write_report(report: EvaluationReport, out_dir: Path) -> None:
    """`per_image.csv`, `summary.json` and `boxplot.png` (like the paper's Figure 7) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "per_image.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["image", "class", "precision", "recall", "labelled_px", "predicted_px", "intersection_px"]
        )
        for s in report.scores:
            writer.writerow(
                [s.image, s.kind, f"{s.precision:.4f}", f"{s.recall:.4f}", s.labelled_px, s.predicted_px,
                 s.intersection_px]
            )  # fmt: skip
    summary = {"pages": report.pages, "classes": report.summary()}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _box_plot(report, out_dir / "boxplot.png")


def _box_plot(report: EvaluationReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    labels, data = [], []
    for kind in KINDS:
        for metric in METRICS:
            labels.append(
                f"{'non-signature' if kind is HandwritingKind.ANNOTATION else 'signature'}\n{metric}"
            )
            data.append(report.values(kind, metric) or [float("nan")])
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.boxplot(data)
    axes.set_xticks(range(1, len(labels) + 1), labels)
    axes.set_ylim(-0.05, 1.05)
    axes.set_title("Pixel precision and recall per page")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
