"""Choosing the annotation prior: the nested choice and what the shipped folders hold."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from indexer.backends.tf_detector import TfBoxDetector
from indexer.config import DetectorSettings
from indexer.errors import InputError
from indexer.training.detector_calibrate import CALIBRATION_FILE, best_prior, calibrate_prior
from indexer.training.detector_eval import median_mean
from indexer.training.voc import load_labelled_pages
from tests.conftest import CONTRACTS_DEV

SHIPPED = DetectorSettings().model_dir
FOLDS = [SHIPPED / "cv" / f"fold-{index}" for index in (1, 2, 3)]


def test_the_best_score_wins_and_a_tie_goes_to_the_smallest_change() -> None:
    assert best_prior({1.0: 0.80, 1.5: 0.86, 2.0: 0.85}) == 1.5
    assert best_prior({1.0: 0.80, 1.25: 0.86, 2.0: 0.86}) == 1.25
    assert best_prior({1.0: 0.86, 3.0: 0.86}) == 1.0
    assert best_prior({1.0: math.nan, 2.0: 0.5}) == 2.0
    assert best_prior({1.0: math.nan, 2.0: math.nan}) == 1.0
    with pytest.raises(InputError, match="no prior"):
        best_prior({})


def test_a_calibration_needs_two_disjoint_folds(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least two fold models"):
        calibrate_prior([FOLDS[0]], [])
    with pytest.raises(InputError, match="both hold out"):
        calibrate_prior([FOLDS[0], FOLDS[0]], [])


@pytest.mark.slow
def test_the_shipped_priors_are_what_the_calibration_chooses() -> None:
    """Re-running the calibration on contracts-dev gives every fold the prior its detector.json
    holds, the shipped model the pooled one, and the nested figures the card reports."""
    calibration = calibrate_prior(FOLDS, load_labelled_pages(CONTRACTS_DEV))
    for choice in calibration.folds:
        assert TfBoxDetector(choice.model_dir).config.annotation_prior == choice.chosen, choice
        recorded = json.loads((choice.model_dir / CALIBRATION_FILE).read_text())
        assert recorded["scores"] == {f"{p:g}": round(v, 6) for p, v in choice.elsewhere.items()}
    assert TfBoxDetector(SHIPPED).config.annotation_prior == calibration.pooled_choice
    # The net's own decision (prior 1) is the baseline the choice has to beat.
    assert median_mean(calibration.nested_report) > median_mean(calibration.baseline_report)
    assert calibration.pooled[1.0] == pytest.approx(median_mean(calibration.baseline_report))
