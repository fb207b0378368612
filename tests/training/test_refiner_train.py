from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.backends.detector.refiner import RefinerConfig, apply_offsets
from indexer.errors import InputError
from indexer.training.detector.options import RefinerOptions
from indexer.training.detector.refiner import (
    _learning_rate,
    _no_move_loss,
    jitter_edges,
    make_samples,
)

EVERY_EDGE = RefinerConfig(moved_edges=("left", "top", "right", "bottom"))


def _options(**changes: object) -> RefinerOptions:
    return RefinerOptions(model_dir=Path("unused"), data_dirs=[], **changes)  # type: ignore[arg-type]


def test_jitter_moves_edges_by_about_the_configured_spread() -> None:
    truth = (100.0, 200.0, 500.0, 300.0)  # 400 x 100
    options = _options(jitter_x=0.05, jitter_y=0.1, jitter_x_px=0.0, jitter_y_px=0.0)
    rng = np.random.default_rng(0)
    moves = np.array([np.subtract(jitter_edges(truth, rng, options), truth) for _ in range(4000)])
    assert moves.std(axis=0) == pytest.approx([20.0, 10.0, 20.0, 10.0], rel=0.1)
    still = _options(jitter_x=0.0, jitter_y=0.0, jitter_x_px=0.0, jitter_y_px=0.0)
    assert jitter_edges(truth, rng, still) == truth


def test_a_draw_that_would_collapse_the_box_keeps_the_labelled_box() -> None:
    truth = (100.0, 100.0, 110.0, 104.0)  # tiny: pixel jitter alone can cross its edges
    options = _options(jitter_x=0.0, jitter_y=0.0, jitter_x_px=50.0, jitter_y_px=50.0)
    rng = np.random.default_rng(1)
    draws = [jitter_edges(truth, rng, options) for _ in range(50)]
    assert truth in draws
    assert all(d[2] - d[0] >= 3.0 and d[3] - d[1] >= 1.2 for d in draws)


def test_samples_are_cuts_with_targets_that_lead_back_to_a_labelled_box() -> None:
    page = np.full((300, 400), 255, np.uint8)
    page[100:140, 50:250] = 0
    truth = (50.0, 100.0, 250.0, 140.0)
    options = _options(samples=8, batch_size=4, config=EVERY_EDGE)
    cuts, targets = make_samples([(page, [truth])], options, np.random.default_rng(2))
    assert cuts.shape == (8, 64, 256) and cuts.dtype == np.uint8 and targets.shape == (8, 4)
    assert np.abs(targets).max() > 0  # the boxes were moved
    # The same seed draws the same first box and move; its target undoes the move.
    rng = np.random.default_rng(2)
    rng.integers(1)  # make_samples picks the box first
    moved = jitter_edges(truth, rng, options)
    assert apply_offsets(moved, targets[0], EVERY_EDGE) == pytest.approx(truth, abs=1e-3)


def test_no_move_loss_is_the_huber_loss_of_the_targets() -> None:
    targets = np.array([[0.0, 1.0, -2.0, 0.5]], np.float32)
    assert _no_move_loss(targets) == pytest.approx((0 + 0.5 + 1.5 + 0.125) / 4)


def test_learning_rate_warms_up_then_decays() -> None:
    options = _options(steps=1000, warmup_steps=100, learning_rate=1e-3, max_minutes=60.0)
    assert _learning_rate(options, 0, 0.0) == pytest.approx(1e-5)
    assert _learning_rate(options, 99, 0.0) == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * 0.099)))
    assert _learning_rate(options, 500, 0.0) == pytest.approx(5e-4)
    assert _learning_rate(options, 10, 3600.0) == 0.0  # the time budget is spent


def test_options_refuse_an_empty_run() -> None:
    with pytest.raises(InputError):
        _options(steps=0)
    with pytest.raises(InputError):
        _options(samples=10, batch_size=64)
