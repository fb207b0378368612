"""The shipped htr model on the validation crops of contracts-dev: a guard on its accuracy.

The bounds sit a little under the figures recorded in models/htr/MODEL_CARD.md, so another CPU's
rounding does not flip them; speed is measured by `python -m benchmarks.htr_speed`, not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import load_settings
from indexer.training.htr.evaluate import evaluate_engines

CONTRACTS_DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "contracts-dev"
#: Recorded in the model card; the issue's target is CER <= 0.30 and word accuracy >= 0.50.
SHIPPED_MAX_CER = 0.23  # measured 0.210 (run 6, padding masked, two-tier lexicon)
SHIPPED_MIN_WORD_ACCURACY = 0.48  # measured 0.503


@pytest.mark.slow
def test_shipped_htr_on_validation_crops_beats_tesseract() -> None:
    settings = load_settings(overrides={"handwriting": {"engine": "htr"}})
    rows = evaluate_engines(
        settings,
        transcriptions=CONTRACTS_DEV / "transcriptions.json",
        images_dir=CONTRACTS_DEV / "images",
        engines=["htr", "tesseract"],
    )
    htr, tesseract = rows
    assert htr.score.crops == tesseract.score.crops == 52
    assert htr.score.cer <= SHIPPED_MAX_CER
    assert htr.score.word_accuracy >= SHIPPED_MIN_WORD_ACCURACY
    assert htr.score.cer < tesseract.score.cer


#: The issue's targets for the default engine on all 107 legible crops (measured held out: CER 0.129,
#: dates 26/31); the CER bound leaves room for onnxruntime builds that round differently.
DEFAULT_MAX_CER = 0.14
DEFAULT_MIN_DATE_ACCURACY = 0.80


@pytest.mark.slow
def test_default_engine_meets_the_issue_targets_held_out() -> None:
    """GIVEN all legible contracts-dev crops
    WHEN ppocr with typed decoding is scored with its settings cross-validated by document
    THEN its held-out CER and date accuracy meet the issue's targets and beat the free engine's."""
    rows = evaluate_engines(
        load_settings(),
        transcriptions=CONTRACTS_DEV / "transcriptions.json",
        images_dir=CONTRACTS_DEV / "images",
        engines=["ppocr", "ppocr+typed"],
        split="all",
    )
    free, typed = rows
    assert typed.score.crops == 107
    assert typed.score.cer <= DEFAULT_MAX_CER
    assert typed.date_accuracy >= DEFAULT_MIN_DATE_ACCURACY
    assert typed.score.cer <= free.score.cer
    assert typed.date_accuracy > free.date_accuracy
