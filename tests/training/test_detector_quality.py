"""The shipped detector's recipe on held-out documents of contracts-dev, scored with the paper's metric.

The shipped model (`models/detector`) trained on every labelled document, so it has no held-out
pages of its own. Its recipe is measured by 3-fold cross-validation over the documents: each fold
model in `models/detector/cv` never saw one third of the documents, and each page is scored by the
fold that held it out (see models/detector/MODEL_CARD.md). Each fold folder also holds the box
refiner trained on that fold's training pages, which `TfBoxDetector` loads with it, and the
annotation prior chosen on the other folds' held-out pages (`indexer calibrate-detector`).
"""

from __future__ import annotations

import pytest

from indexer.backends.detector.predictor import TfBoxDetector
from indexer.config import DetectorSettings
from indexer.model_dirs.split import read_split
from indexer.training.data.splits import document_of
from indexer.training.data.voc import LabelledPage, load_labelled_pages
from indexer.training.detector.evaluate import EvaluationReport, evaluate_detector, evaluate_held_out
from tests.conftest import CONTRACTS_DEV

#: The shipped detector's folder (the configuration's default).
SHIPPED = DetectorSettings().model_dir
FOLDS = [SHIPPED / "cv" / f"fold-{index}" for index in (1, 2, 3)]
#: What the cross-validation reached, pooled over all 64 pages with the shipped decoding (three
#: test scales), box refiners and annotation priors (models/detector/MODEL_CARD.md), rounded
#: down: a regression guard.
REACHED_MEDIANS = {
    ("signature", "precision"): 0.86,
    ("signature", "recall"): 0.85,
    ("annotation", "precision"): 0.85,
    ("annotation", "recall"): 0.87,
}
REACHED_ANNOTATION_Q1 = {"precision": 0.74, "recall": 0.72}
REACHED_AP50 = {"signature": 0.80, "annotation": 0.65}
#: How far below the folds' held-out medians the shipped model's fit on its own training pages may
#: fall (rounding, and a page decided differently) before it signals wrong weights or decoding.
FIT_SLACK = 0.02
#: The issue's targets: every median >= 0.85, annotation first quartiles >= 0.5.
TARGET_MEDIAN = 0.85
TARGET_ANNOTATION_Q1 = 0.5


@pytest.fixture(scope="module")
def pages() -> list[LabelledPage]:
    if not CONTRACTS_DEV.is_dir():
        pytest.fail(f"the dev set is missing at {CONTRACTS_DEV}")
    return load_labelled_pages(CONTRACTS_DEV)


@pytest.fixture(scope="module")
def report(pages: list[LabelledPage]) -> EvaluationReport:
    """Every contracts-dev page, scored by the fold model that never trained on its document."""
    models = []
    for folder in FOLDS:
        record = read_split(folder)
        assert record is not None, f"{folder} has no split.json"
        models.append((TfBoxDetector(folder), set(record.held_out_documents)))
    return evaluate_held_out(models, pages)


def test_every_shipped_model_has_its_refiner() -> None:
    for folder in [SHIPPED, *FOLDS]:
        assert TfBoxDetector(folder).refiner is not None, folder


def test_the_folds_hold_out_every_document_once_and_the_shipped_model_none(pages: list[LabelledPage]) -> None:
    documents = {document_of(page.stem) for page in pages}
    held_out = [record.held_out_documents for record in map(read_split, FOLDS) if record]
    assert sorted(document for fold in held_out for document in fold) == sorted(documents)
    shipped = read_split(SHIPPED)
    assert shipped is not None and shipped.hold_out == "none"
    assert shipped.train_documents == documents


@pytest.mark.slow
def test_cross_validation_keeps_what_it_reached(report: EvaluationReport) -> None:
    summary = report.summary()
    assert report.pages == 64
    for (kind, metric), floor in REACHED_MEDIANS.items():
        assert summary[kind][metric]["median"] >= floor, (kind, metric, summary[kind])
    for metric, floor in REACHED_ANNOTATION_Q1.items():
        assert summary["annotation"][metric]["q1"] >= floor, (metric, summary["annotation"])
    for kind, floor in REACHED_AP50.items():
        assert report.average_precision[kind] >= floor, (kind, report.average_precision)


@pytest.mark.slow
def test_the_shipped_model_fits_its_training_pages_at_least_as_well(
    report: EvaluationReport, pages: list[LabelledPage]
) -> None:
    """The shipped weights load and decode as trained: on pages it trained on, its medians are no
    lower than what the folds reach on pages they never saw."""
    fit = evaluate_detector(TfBoxDetector(SHIPPED), pages, split="all").summary()
    held_out = report.summary()
    for kind in ("signature", "annotation"):
        for metric in ("precision", "recall"):
            assert fit[kind][metric]["median"] >= held_out[kind][metric]["median"] - FIT_SLACK, (kind, metric)


@pytest.mark.slow
def test_cross_validation_meets_the_issue_targets(report: EvaluationReport) -> None:
    """The shipped folds meet the issue's targets. Other draws of the same recipe did not
    (MODEL_CARD.md, Limits), so this guards the shipped draw, not the recipe."""
    summary = report.summary()
    for kind in ("signature", "annotation"):
        for metric in ("precision", "recall"):
            assert summary[kind][metric]["median"] >= TARGET_MEDIAN
    for metric in ("precision", "recall"):
        assert summary["annotation"][metric]["q1"] >= TARGET_ANNOTATION_Q1
