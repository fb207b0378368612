from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.backends.base import Detection
from indexer.backends.detector.refiner import (
    REFINER_CONFIG_FILE,
    BoxRefiner,
    RefinerConfig,
    apply_offsets,
    build_refiner,
    context_box,
    cut_context,
    encode_offsets,
)
from indexer.document import Box, HandwritingKind
from indexer.errors import DependencyError, InputError

EVERY_EDGE = RefinerConfig(moved_edges=("left", "top", "right", "bottom"))


def test_offsets_lead_back_to_the_labelled_box() -> None:
    moved, truth = (103.0, 48.5, 390.0, 131.0), (110.0, 40.0, 402.0, 140.0)
    offsets = encode_offsets(moved, truth, EVERY_EDGE)
    assert apply_offsets(moved, offsets, EVERY_EDGE) == pytest.approx(truth)
    # Offsets are shares of the context times offset_scale: of order 1 for an edge 10% off.
    left, top, right, bottom = context_box(moved, EVERY_EDGE)
    assert offsets[0] == pytest.approx(10 * 7.0 / (right - left))
    assert offsets[3] == pytest.approx(10 * 9.0 / (bottom - top))


def test_only_the_configured_edges_move() -> None:
    config = RefinerConfig()  # the shipped choice: left and right
    moved = apply_offsets((100.0, 50.0, 300.0, 90.0), np.array([1.0, 1.0, -1.0, -1.0]), config)
    assert moved[1] == 50.0 and moved[3] == 90.0
    assert moved[0] > 100.0 and moved[2] < 300.0


def test_the_cut_shows_the_box_with_context_and_white_beyond_the_page() -> None:
    page = np.full((400, 600), 255, np.uint8)
    page[100:140, 200:400] = 0  # ink exactly filling the box
    config = RefinerConfig(context_x=0.25, context_y=0.5, context_px=0.0)
    cut = cut_context(page, (200.0, 100.0, 400.0, 140.0), config)
    assert cut.shape == (config.input_height_px, config.input_width_px)
    # The box spans the middle 2/3 of the cut's width and the middle half of its height.
    rows = np.flatnonzero(cut.min(axis=1) < 128)
    cols = np.flatnonzero(cut.min(axis=0) < 128)
    assert rows[0] == pytest.approx(16, abs=1) and rows[-1] == pytest.approx(47, abs=1)
    assert cols[0] == pytest.approx(256 / 6, abs=1) and cols[-1] == pytest.approx(256 * 5 / 6 - 1, abs=1)
    corner = cut_context(page, (0.0, 0.0, 50.0, 20.0), config)
    assert corner[:5, :5].min() == 255  # above and left of the page: paper


def test_unknown_edges_and_odd_input_sizes_are_refused() -> None:
    with pytest.raises(InputError, match="moved_edges"):
        RefinerConfig(moved_edges=("left", "middle"))
    with pytest.raises(InputError, match="multiple of 16"):
        RefinerConfig(input_width_px=250)


def _saved_refiner(folder: Path, *, zero_offsets: bool) -> None:
    config = RefinerConfig()
    model = build_refiner(config)
    if zero_offsets:
        last = model.get_layer("offsets")
        last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    model.save_weights(str(folder / config.weights))
    config.save(folder / REFINER_CONFIG_FILE)


def test_a_refiner_that_predicts_no_move_keeps_the_boxes(tmp_path: Path) -> None:
    _saved_refiner(tmp_path, zero_offsets=True)
    refiner = BoxRefiner(tmp_path)
    assert RefinerConfig.load(tmp_path / REFINER_CONFIG_FILE) == refiner.config
    page = np.full((300, 500), 255, np.uint8)
    found = [
        Detection(HandwritingKind.SIGNATURE, Box(50, 60, 250, 110), 0.9),
        Detection(HandwritingKind.ANNOTATION, Box(0, 0, 500, 30), 0.7),  # touches the page's edges
    ]
    assert refiner.refine(page, found) == found
    assert refiner.refine(page, []) == []


def test_refined_boxes_stay_on_the_page(tmp_path: Path) -> None:
    _saved_refiner(tmp_path, zero_offsets=False)
    page = np.random.default_rng(0).integers(0, 256, (300, 500), dtype=np.uint8)
    found = [Detection(HandwritingKind.SIGNATURE, Box(0, 10, 500, 290), 0.9)]
    (refined,) = BoxRefiner(tmp_path).refine(page, found)
    assert refined.kind is HandwritingKind.SIGNATURE and refined.score == 0.9
    assert 0 <= refined.box.x0 < refined.box.x1 <= 500 and (refined.box.y0, refined.box.y1) == (10, 290)


def test_missing_refiner_files_are_dependency_errors(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="train-refiner"):
        BoxRefiner(tmp_path)
    RefinerConfig().save(tmp_path / REFINER_CONFIG_FILE)
    with pytest.raises(DependencyError, match="weights"):
        BoxRefiner(tmp_path)
