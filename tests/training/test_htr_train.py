"""A few-step training run on synthetic and IAM-layout data produces a model the recognizer loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.backends.htr.ctc import CtcRecognizer
from indexer.model_dirs.htr import CONFIG_FILE, LEXICON_FILE, HtrConfig
from indexer.training.htr.options import TrainOptions
from indexer.training.htr.text import VOCABULARY
from indexer.training.htr.train import train_htr, validate_data
from tests.training.test_htr_data import CONTRACTS_DEV, write_iam

_TINY = HtrConfig(vocabulary=VOCABULARY, conv_filters=(4, 8, 8, 8, 8), lstm_units=16)


@pytest.mark.slow
def test_few_step_training_saves_a_loadable_model(tmp_path: Path) -> None:
    iam = write_iam(tmp_path / "iam", [f"word{i}" for i in range(20)])
    options = TrainOptions(
        out_dir=tmp_path / "model",
        synthetic=48,
        iam_dir=iam,
        epochs=2,
        batch_size=16,
        config=_TINY,
        command="indexer train-htr --synthetic 48",
    )
    progress: list[tuple[int, int]] = []
    result = train_htr(options, on_progress=lambda stage, done, total, _: progress.append((done, total)))
    assert result.steps == progress[-1][0] > 0
    assert result.data["synthetic"] == 48 and result.data["iam"] == 20
    saved = json.loads((tmp_path / "model" / CONFIG_FILE).read_text())
    assert saved["metadata"]["command"] == "indexer train-htr --synthetic 48"
    assert (tmp_path / "model" / LEXICON_FILE).read_text().count("\n") > 100
    recognizer = CtcRecognizer(tmp_path / "model")
    assert isinstance(recognizer.recognize([np.full((40, 100), 0, np.uint8)])[0].text, str)


def test_validate_counts_the_sources_without_training(tmp_path: Path) -> None:
    iam = write_iam(tmp_path / "iam", [f"w{i}" for i in range(20)])
    counts = validate_data(TrainOptions(out_dir=tmp_path / "out", synthetic=10, iam_dir=iam, config=_TINY))
    assert counts["iam"] == 20 and counts["synthetic"] == 10
    assert counts["train"] + counts["holdout"] <= 30
    assert not (tmp_path / "out").exists()


def test_labelled_crops_of_several_lines_are_left_out_of_training(tmp_path: Path) -> None:
    options = TrainOptions(
        out_dir=tmp_path / "out",
        transcriptions=CONTRACTS_DEV / "transcriptions.json",
        real_copies=0,
        config=_TINY,
    )
    counts = validate_data(options)
    # 107 legible crops: 55 of the training documents, 52 of the validation ones.
    several = counts["real_crops_of_several_lines"]
    assert 5 <= several <= 15
    assert counts["real_train_samples"] + counts["real_validation_crops"] + several == 107
    assert counts["real_validation_crops"] < 52
