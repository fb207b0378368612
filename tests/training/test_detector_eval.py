from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from indexer.backends.base import Detection
from indexer.document import Box, HandwritingKind
from indexer.training.data.voc import LabelledBox, LabelledPage
from indexer.training.detector.evaluate import (
    EvaluationReport,
    PageDetections,
    average_precision,
    evaluate_held_out,
    median_mean,
    page_scores,
    quartiles,
    score_detections,
    write_report,
)

SIG, ANN = HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION
SIZE = (100, 200)  # (height, width)


def _scores(
    truth: list[LabelledBox], predicted: list[Detection]
) -> dict[HandwritingKind, tuple[float, float]]:
    return {s.kind: (s.precision, s.recall) for s in page_scores("page", truth, predicted, SIZE)}


def test_partial_overlap_gives_hand_computed_precision_and_recall() -> None:
    """GIVEN a 10x10 labelled box and a 10x20 prediction sharing 10x5 pixels
    THEN precision = 50/200 and recall = 50/100."""
    truth = [LabelledBox(SIG, Box(0, 0, 10, 10))]
    predicted = [Detection(SIG, Box(5, 0, 25, 10), 0.9)]
    assert _scores(truth, predicted) == {SIG: (50 / 200, 50 / 100)}


def test_overlapping_boxes_count_their_union_once() -> None:
    """GIVEN two overlapping labelled boxes (union 150 px) and one prediction covering both
    THEN recall is 1 and precision is 150 / prediction area."""
    truth = [LabelledBox(ANN, Box(0, 0, 10, 10)), LabelledBox(ANN, Box(5, 0, 15, 10))]
    predicted = [Detection(ANN, Box(0, 0, 20, 10), 0.8), Detection(ANN, Box(0, 0, 10, 10), 0.7)]
    precision, recall = _scores(truth, predicted)[ANN]
    assert recall == 1.0 and precision == pytest.approx(150 / 200)


def test_class_on_one_side_only_scores_zero_and_zero() -> None:
    truth = [LabelledBox(SIG, Box(0, 0, 10, 10))]
    predicted = [Detection(ANN, Box(50, 50, 60, 60), 0.9)]
    assert _scores(truth, predicted) == {SIG: (0.0, 0.0), ANN: (0.0, 0.0)}


def test_class_absent_on_both_sides_leaves_the_page_out() -> None:
    truth = [LabelledBox(SIG, Box(0, 0, 10, 10))]
    predicted = [Detection(SIG, Box(0, 0, 10, 10), 0.9)]
    assert _scores(truth, predicted) == {SIG: (1.0, 1.0)}
    assert page_scores("blank", [], [], SIZE) == []


def test_kinds_are_scored_separately() -> None:
    truth = [LabelledBox(SIG, Box(0, 0, 10, 10)), LabelledBox(ANN, Box(100, 50, 120, 60))]
    predicted = [Detection(ANN, Box(0, 0, 10, 10), 0.9), Detection(ANN, Box(100, 50, 120, 60), 0.9)]
    scores = _scores(truth, predicted)
    assert scores[SIG] == (0.0, 0.0)
    assert scores[ANN] == (pytest.approx(200 / 300), 1.0)


def test_average_precision_at_iou_half() -> None:
    """GIVEN 2 truths on one image and 3 ranked predictions (hit, miss, hit)
    THEN AP = 1 * 0.5 + (2/3) * 0.5."""
    truths = [[Box(0, 0, 10, 10), Box(50, 50, 60, 60)]]
    predictions = [[(Box(0, 0, 10, 10), 0.9), (Box(80, 80, 90, 90), 0.8), (Box(51, 50, 61, 60), 0.7)]]
    assert average_precision(truths, predictions) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_counts_a_duplicate_as_false_positive() -> None:
    truths = [[Box(0, 0, 10, 10)]]
    predictions = [[(Box(0, 0, 10, 10), 0.9), (Box(0, 0, 10, 10), 0.8)]]
    assert average_precision(truths, predictions) == pytest.approx(1.0)
    assert average_precision([[]], [[(Box(0, 0, 5, 5), 0.5)]]) != average_precision(truths, predictions)
    assert math.isnan(average_precision([[]], [[]]))


def test_quartiles_and_report_files(tmp_path: Path) -> None:
    assert quartiles([0.0, 0.25, 0.5, 0.75, 1.0]) == {
        "min": 0,
        "q1": 0.25,
        "median": 0.5,
        "q3": 0.75,
        "max": 1,
    }
    report = EvaluationReport(pages=1, average_precision={"signature": 1.0, "annotation": float("nan")})
    report.scores = page_scores("p", [LabelledBox(SIG, Box(0, 0, 10, 10))], [], SIZE)
    write_report(report, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"per_image.csv", "summary.json", "boxplot.png"}
    assert "p,signature,0.0000,0.0000,100,0,0" in (tmp_path / "per_image.csv").read_text()
    assert np.isnan(report.summary()["annotation"]["precision"]["median"])


class _FixedDetector:
    """Always finds the same boxes: which model scored a page shows in its figures."""

    name = "fixed"
    version = "1"

    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes

    def detect(self, image: np.ndarray) -> list[Detection]:
        return [Detection(SIG, box, 0.9) for box in self.boxes]


def test_held_out_pages_are_each_scored_by_the_model_that_never_trained_on_them(tmp_path: Path) -> None:
    """GIVEN two fold models and pages of three documents WHEN pooled THEN each page is scored by
    the model that held its document out, and a page no model held out is left out."""
    import cv2

    truth = [LabelledBox(SIG, Box(0, 0, 100, 100))]
    pages = []
    for document in ("alpha", "beta", "gamma"):
        path = tmp_path / f"{document}-1.png"
        cv2.imwrite(str(path), np.full((100, 200, 3), 255, np.uint8))
        pages.append(LabelledPage(path, 200, 100, truth))
    exact = _FixedDetector([Box(0, 0, 100, 100)])
    half = _FixedDetector([Box(0, 0, 50, 100)])
    report = evaluate_held_out([(exact, {"alpha"}), (half, {"beta"})], pages)
    assert report.pages == 2
    assert {(s.image, s.precision, s.recall) for s in report.scores} == {
        ("alpha-1", 1.0, 1.0),
        ("beta-1", 1.0, 0.5),
    }
    assert report.average_precision["signature"] == pytest.approx(1.0)  # both boxes hit at IoU >= 0.5


def test_resized_boxes_grow_and_shrink_about_their_centres_within_the_page(tmp_path: Path) -> None:
    """GIVEN a labelled 40x40 box and a detector that finds exactly it WHEN every box is scored
    at half size THEN precision stays 1 and recall is the quarter left; at 1.5 times it is cut at
    the page's left edge."""
    import cv2

    from indexer.training.detector.evaluate import ResizedBoxes, evaluate_assigned

    path = tmp_path / "doc-1.png"
    cv2.imwrite(str(path), np.full((100, 200, 3), 255, np.uint8))
    page = LabelledPage(path, 200, 100, [LabelledBox(SIG, Box(10, 20, 50, 60))])
    exact = _FixedDetector([Box(10, 20, 50, 60)])
    assert ResizedBoxes(exact, 0.5).detect(np.zeros((100, 200, 3), np.uint8))[0].box == Box(20, 30, 40, 50)
    assert ResizedBoxes(exact, 1.5).detect(np.zeros((100, 200, 3), np.uint8))[0].box == Box(0, 10, 60, 70)
    halved = evaluate_assigned([(page, ResizedBoxes(exact, 0.5))])
    assert [(s.precision, s.recall) for s in halved.scores] == [(1.0, 0.25)]
    assert ResizedBoxes(exact, 0.5).version.endswith("boxes x0.5")


def test_scoring_found_detections_and_the_mean_of_the_four_medians(tmp_path: Path) -> None:
    """GIVEN two pages scored from detections already made THEN the report is the paper's
    metric per page, and `median_mean` is the mean of the four medians."""
    page = LabelledPage(
        tmp_path / "a-1.png",
        200,
        100,
        [LabelledBox(SIG, Box(0, 0, 100, 100)), LabelledBox(ANN, Box(100, 0, 200, 50))],
    )
    other = LabelledPage(tmp_path / "b-1.png", 200, 100, [LabelledBox(SIG, Box(0, 0, 100, 100))])
    report = score_detections(
        [
            PageDetections(
                page,
                [Detection(SIG, Box(0, 0, 50, 100), 0.9), Detection(ANN, Box(100, 0, 200, 100), 0.8)],
                SIZE,
            ),
            PageDetections(other, [Detection(SIG, Box(0, 0, 100, 100), 0.9)], SIZE),
        ]
    )
    assert report.pages == 2
    # signature: P 1 and 1, R 0.5 and 1; annotation (one page): P 0.5, R 1.
    assert median_mean(report) == pytest.approx((1.0 + 0.75 + 0.5 + 1.0) / 4)
    assert report.average_precision["annotation"] == pytest.approx(1.0)  # IoU exactly 0.5 is a hit
