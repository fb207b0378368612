"""The shipped detector on the held-out documents of contracts-dev, scored with the paper's metric."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.backends.tf_detector import TfBoxDetector
from indexer.training.detector_eval import EvaluationReport, evaluate_detector
from indexer.training.voc import load_labelled_pages

REPO = Path(__file__).resolve().parents[2]
CONTRACTS_DEV = REPO / ".." / "shared" / "data" / "contracts-dev"
#: What the shipped model reached on the validation split (models/detector/MODEL_CARD.md),
#: rounded down: a regression guard, not the issue's targets.
REACHED_MEDIANS = {
    ("signature", "precision"): 0.75,
    ("signature", "recall"): 0.85,
    ("annotation", "precision"): 0.84,  # 0.850 since boxes that mostly overlap merge
    ("annotation", "recall"): 0.75,
}
REACHED_ANNOTATION_Q1 = {"precision": 0.55, "recall": 0.5}
REACHED_AP50 = {"signature": 0.75, "annotation": 0.5}
#: The issue's targets: every median >= 0.85, annotation first quartiles >= 0.5.
TARGET_MEDIAN = 0.85
TARGET_ANNOTATION_Q1 = 0.5


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    if not CONTRACTS_DEV.is_dir():
        pytest.fail(f"the dev set is missing at {CONTRACTS_DEV}")
    detector = TfBoxDetector(REPO / "models" / "detector")
    return evaluate_detector(detector, load_labelled_pages(CONTRACTS_DEV), split="validation")


@pytest.mark.slow
def test_shipped_model_keeps_what_it_reached(report: EvaluationReport) -> None:
    summary = report.summary()
    assert report.pages == 25
    for (kind, metric), floor in REACHED_MEDIANS.items():
        assert summary[kind][metric]["median"] >= floor, (kind, metric, summary[kind])
    for metric, floor in REACHED_ANNOTATION_Q1.items():
        assert summary["annotation"][metric]["q1"] >= floor, (metric, summary["annotation"])
    for kind, floor in REACHED_AP50.items():
        assert report.average_precision[kind] >= floor, (kind, report.average_precision)


@pytest.mark.slow
@pytest.mark.xfail(reason="the shipped model is below the issue's targets; see MODEL_CARD.md", strict=False)
def test_shipped_model_meets_the_issue_targets(report: EvaluationReport) -> None:
    summary = report.summary()
    for kind in ("signature", "annotation"):
        for metric in ("precision", "recall"):
            assert summary[kind][metric]["median"] >= TARGET_MEDIAN
    for metric in ("precision", "recall"):
        assert summary["annotation"][metric]["q1"] >= TARGET_ANNOTATION_Q1
