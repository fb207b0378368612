"""Train the box refiner (`indexer.backends.detector.refiner`) for a trained detector.

Training boxes are the labelled boxes of the detector's own training pages (its `split.json`),
each with its four edges moved at random by about as much as the detector misses them by; the
target is the way back (`encode_offsets`). So the refiner never sees a page the detector held
out, and the detector's held-out evaluation stays honest. Cuts get the same scan noise as the
detector's crops. Everything is seeded.

The refiner is written into the detector's folder and named in its `detector.json`, so
`TfBoxDetector` loads it with the detector.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.backends.detector.refiner import (
    REFINER_CONFIG_FILE,
    Edges,
    box_edges,
    build_refiner,
    cut_context,
    encode_offsets,
    ink_map,
)
from indexer.backends.tf_runtime import load_tensorflow
from indexer.errors import InputError
from indexer.images import read_rgb
from indexer.model_dirs.detector import CONFIG_FILE
from indexer.model_dirs.split import stems_trained_on
from indexer.training.budget import StepBudget, spent_share
from indexer.training.data.augment import photometric
from indexer.training.data.voc import LabelledPage
from indexer.training.detector.options import RefinerOptions
from indexer.training.detector.train import ProgressCallback, load_pages

__all__ = ["RefinerResult", "jitter_edges", "make_samples", "train_refiner"]

log = logging.getLogger(__name__)

#: A trained refiner's loss should be well under that of moving nothing (about a fifth of it in
#: the cross-validation runs); above this share of it, training is reported as failed.
_LEARNED_SHARE = 0.7


@dataclass(frozen=True, slots=True)
class RefinerResult:
    steps_done: int
    seconds: float
    final_loss: float
    #: The loss of a refiner that moves nothing, on the same cuts: what `final_loss` must beat.
    no_move_loss: float
    train_pages: int
    boxes: int


def jitter_edges(truth: Edges, rng: np.random.Generator, options: RefinerOptions) -> Edges:
    """`truth` with each edge moved at random; a draw that would shrink the box below a third of
    its width or height is replaced by `truth` itself (the refiner should then keep it)."""
    left, top, right, bottom = truth
    width, height = right - left, bottom - top
    spread_x = options.jitter_x * width + options.jitter_x_px
    spread_y = options.jitter_y * height + options.jitter_y_px
    moves = rng.normal(0.0, 1.0, 4) * np.array([spread_x, spread_y, spread_x, spread_y])
    moved = (left + moves[0], top + moves[1], right + moves[2], bottom + moves[3])
    if moved[2] - moved[0] < 0.3 * width or moved[3] - moved[1] < 0.3 * height:
        return truth
    return moved


def make_samples(
    pages: Sequence[tuple[np.ndarray, list[Edges]]], options: RefinerOptions, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`options.samples` (uint8 cuts (n, h, w), float32 targets (n, 4)) from (grey page, boxes)."""
    boxes = [(grey, truth) for grey, truths in pages for truth in truths]
    if not boxes:
        raise InputError("the refiner's training pages hold no labelled boxes")
    config = options.config
    cuts = np.empty((options.samples, config.input_height_px, config.input_width_px), np.uint8)
    targets = np.empty((options.samples, 4), np.float32)
    for index in range(options.samples):
        grey, truth = boxes[int(rng.integers(len(boxes)))]
        moved = jitter_edges(truth, rng, options)
        cuts[index] = photometric(cut_context(grey, moved, config), rng)
        targets[index] = encode_offsets(moved, truth, config)
    return cuts, targets


def train_refiner(options: RefinerOptions, *, on_progress: ProgressCallback | None = None) -> RefinerResult:
    """Train on the detector's training pages, write the refiner into `options.model_dir` and
    name it in its `detector.json`.

    Raises:
        InputError: the model folder has no detector, or the data holds none of its training pages.
    """
    started = time.monotonic()
    detector_config = options.model_dir / CONFIG_FILE
    if not detector_config.is_file():
        raise InputError(f"{options.model_dir} holds no detector ({CONFIG_FILE}); train one first")
    tf = load_tensorflow(threads=options.threads)
    tf.keras.utils.set_random_seed(options.seed)
    pages = _training_pages(options)
    rng = np.random.default_rng([options.seed, 2])
    grey_pages = [(_grey(page), [box_edges(box.box) for box in page.boxes]) for page in pages]
    cuts, targets = make_samples(grey_pages, options, rng)
    log.info("%d jittered cuts of %d boxes on %d pages", len(cuts), _box_count(pages), len(pages))
    model = build_refiner(options.config)
    steps_done, loss = _fit(model, cuts, targets, options, rng, on_progress)
    no_move = _no_move_loss(targets)
    if not loss < _LEARNED_SHARE * no_move:
        log.warning(
            "the refiner barely learned: loss %.4f against %.4f for moving nothing; try another --seed",
            loss,
            no_move,
        )
    model.save_weights(str(options.model_dir / options.config.weights))
    options.config.save(options.model_dir / REFINER_CONFIG_FILE)
    _name_refiner(detector_config)
    seconds = time.monotonic() - started
    log.info("refiner: %d steps in %.0f s, loss %.4f", steps_done, seconds, loss)
    return RefinerResult(steps_done, seconds, loss, no_move, len(pages), _box_count(pages))


def _training_pages(options: RefinerOptions) -> list[LabelledPage]:
    pages = load_pages(options.data_dirs)
    trained = set(stems_trained_on(options.model_dir, [page.stem for page in pages]))
    chosen = [page for page in pages if page.stem in trained and page.boxes]
    if not chosen:
        raise InputError(
            f"none of the pages in {', '.join(map(str, options.data_dirs))} is a training page of "
            f"the detector in {options.model_dir} (its split.json)"
        )
    return chosen


def _fit(
    model: Any,
    cuts: np.ndarray,
    targets: np.ndarray,
    options: RefinerOptions,
    rng: np.random.Generator,
    on_progress: ProgressCallback | None,
) -> tuple[int, float]:
    import tensorflow as tf
    from tensorflow import keras

    optimizer = keras.optimizers.Adam(options.learning_rate)
    # Huber with delta 1 on offsets of order 1: squared error near the target, robust beyond.
    huber = keras.losses.Huber(1.0)

    @tf.function  # type: ignore[untyped-decorator]
    def step(batch: Any, wanted: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = huber(wanted, model(batch, training=True))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    budget = StepBudget(options.steps, options.max_minutes, "refiner")
    for index, elapsed_s in budget:
        optimizer.learning_rate.assign(_learning_rate(options, index, elapsed_s))
        chosen = rng.integers(len(cuts), size=options.batch_size)
        smoothed = budget.record(float(step(ink_map(cuts[chosen]), targets[chosen])))
        if on_progress is not None:
            on_progress("refiner", budget.done, options.steps, f"loss {smoothed:.4f}")
        if budget.done % 100 == 0:
            log.info("refiner step %d/%d loss %.4f", budget.done, options.steps, smoothed)
    return budget.done, budget.smoothed


def _no_move_loss(targets: np.ndarray) -> float:
    """The Huber loss (delta 1) of predicting no move at all."""
    size = np.abs(targets)
    return float(np.mean(np.where(size <= 1.0, 0.5 * size**2, size - 0.5)))


def _learning_rate(options: RefinerOptions, step: int, elapsed_s: float) -> float:
    """A linear warm-up, then cosine decay over whichever runs out first, the steps or the time.

    Without the warm-up, one of the first cross-validation refiners never left the start: its
    loss stayed where predicting no move puts it (the first full-rate steps likely killed its
    ReLUs).
    """
    progress = spent_share(step, elapsed_s, options.steps, options.max_minutes)
    warm = min(1.0, (step + 1) / options.warmup_steps)
    return warm * 0.5 * options.learning_rate * (1 + math.cos(math.pi * progress))


def _name_refiner(detector_config: Path) -> None:
    """Point the detector's config at the refiner (kept as JSON so unknown keys survive)."""
    data = json.loads(detector_config.read_text(encoding="utf-8"))
    data["refiner"] = REFINER_CONFIG_FILE
    detector_config.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _grey(page: LabelledPage) -> np.ndarray:
    return cv2.cvtColor(read_rgb(page.image_path), cv2.COLOR_RGB2GRAY)


def _box_count(pages: Sequence[LabelledPage]) -> int:
    return sum(len(page.boxes) for page in pages)
