"""Train the handwriting FCN on labelled real pages (training side only) plus synthetic pages.

Real pages are split by document with `indexer.training.data.splits`, so the held-out documents (the
validation documents, one cross-validation fold, or none) are never seen in training; which ones
they were goes into `split.json` beside the weights. Everything is seeded. The weights,
`detector.json` and `MODEL_CARD.md` are written to the output folder; when held-out pages exist
they are evaluated with the paper's metric and the numbers go into the card.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from indexer.backends.detector.net import build_model
from indexer.backends.tf_runtime import load_tensorflow
from indexer.document import Box
from indexer.errors import InputError
from indexer.images import read_rgb
from indexer.model_dirs.detector import CONFIG_FILE, DetectorConfig
from indexer.model_dirs.split import write_split
from indexer.training.budget import StepBudget, spent_share
from indexer.training.data.splits import document_of, split_by_document
from indexer.training.data.synthetic import render_page, scan_effects
from indexer.training.data.voc import LabelledBox, LabelledPage, load_labelled_pages
from indexer.training.detector.options import TrainOptions
from indexer.training.detector.targets import (
    PageSample,
    SampleSource,
    detector_loss,
    page_sample,
)
from indexer.training.progress import ProgressCallback

__all__ = [
    "ProgressCallback",
    "TrainResult",
    "load_pages",
    "member_weight_names",
    "train_detector",
]

log = logging.getLogger(__name__)

CLASS_WEIGHTS = (1.0, 1.0, 1.0)
#: Synthetic ground truth is tight around the ink; real labels are loose, so pad to match.
_SYNTHETIC_PAD_PX = 12


@dataclass(slots=True)
class TrainResult:
    out_dir: Path
    #: Steps done, summed over the member nets.
    steps_done: int
    seconds: float
    final_loss: float
    train_pages: list[str]
    held_out_pages: list[str]
    #: The config written beside the weights (naming every member net's weights).
    config: DetectorConfig


def _noop(stage: str, done: int, total: int, message: str) -> None:
    return None


def load_pages(data_dirs: Sequence[Path]) -> list[LabelledPage]:
    """All labelled pages of the given folders, sorted by stem."""
    pages = [page for folder in data_dirs for page in load_labelled_pages(folder)]
    return sorted(pages, key=lambda page: page.stem)


def _real_samples(pages: Sequence[LabelledPage]) -> list[PageSample]:
    return [page_sample(read_rgb(page.image_path), page.boxes, page.stem) for page in pages]


def _synthetic_samples(count: int, seed: int, on_progress: ProgressCallback) -> list[PageSample]:
    samples = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        page = render_page(rng)
        height, width = page.image.shape[:2]
        boxes = [
            LabelledBox(
                item.kind,
                Box(
                    max(item.box.x0 - _SYNTHETIC_PAD_PX, 0),
                    max(item.box.y0 - _SYNTHETIC_PAD_PX, 0),
                    min(item.box.x1 + _SYNTHETIC_PAD_PX, width),
                    min(item.box.y1 + _SYNTHETIC_PAD_PX, height),
                ),
            )
            for item in page.handwriting
        ]
        samples.append(page_sample(scan_effects(page.image, rng), boxes, f"synthetic-{index}"))
        on_progress("synthetic pages", index + 1, count, "")
    return samples


def _seed_everything(seed: int) -> None:
    from tensorflow import keras

    keras.utils.set_random_seed(seed)


def _train_step_fn(model: Any, optimizer: Any, loss_fn: Any) -> Any:
    import tensorflow as tf

    # Not XLA-compiled (`jit_compile`): with data loading in the loop its calling thread keeps a
    # third thread busy on 2 cores, which makes each step slower.
    @tf.function(reduce_retracing=True)  # type: ignore[untyped-decorator]
    def step(images: Any, labels: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    return step


class _Prefetcher:
    """Draws batches on a background thread, so the next one is ready when a step ends.

    OpenCV and NumPy release the GIL, so drawing overlaps TensorFlow's step. One thread draws
    them all in order from one generator, so a seeded run still sees the same batches.
    """

    def __init__(self, draw: Callable[[], tuple[np.ndarray, np.ndarray]], depth: int = 2) -> None:
        self._draw = draw
        self._queue: queue.Queue[tuple[np.ndarray, np.ndarray] | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="detector-batches", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            item: tuple[np.ndarray, np.ndarray] | BaseException
            try:
                item = self._draw()
            except Exception as exc:  # handed to the training loop, which raises it
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _learning_rate(options: TrainOptions, step: int, elapsed_s: float) -> float:
    """Cosine decay over whichever runs out first, the steps or the time budget."""
    progress = spent_share(step, elapsed_s, options.steps, options.max_minutes)
    floor = 0.05 * options.learning_rate
    return floor + 0.5 * (options.learning_rate - floor) * (1 + math.cos(math.pi * progress))


def _fit(
    model: Any,
    sources: tuple[SampleSource, SampleSource | None],
    options: TrainOptions,
    on_progress: ProgressCallback,
) -> tuple[int, float]:
    from tensorflow import keras

    averaging = (
        {} if options.ema_momentum is None else {"use_ema": True, "ema_momentum": options.ema_momentum}
    )
    optimizer = keras.optimizers.Adam(options.learning_rate, **averaging)
    step = _train_step_fn(model, optimizer, detector_loss(options.config, CLASS_WEIGHTS, options.box_loss))
    rng = np.random.default_rng([options.seed, 1])
    real, synthetic = sources

    def draw() -> tuple[np.ndarray, np.ndarray]:
        use_synthetic = synthetic is not None and rng.random() < options.synthetic_share
        return (synthetic if use_synthetic and synthetic else real).batch(rng, options.batch_size)

    batches = _Prefetcher(draw)
    budget = StepBudget(options.steps, options.max_minutes, "detector")
    try:
        for index, elapsed_s in budget:
            optimizer.learning_rate.assign(_learning_rate(options, index, elapsed_s))
            smoothed = budget.record(float(step(*batches.next())))
            on_progress("training", budget.done, options.steps, f"loss {smoothed:.4f}")
            if budget.done % 50 == 0:
                log.info(
                    "step %d/%d loss %.4f lr %.5f",
                    budget.done,
                    options.steps,
                    smoothed,
                    float(optimizer.learning_rate),
                )
    finally:
        batches.close()
    optimizer.finalize_variable_values(model.trainable_variables)  # the average, with EMA
    return budget.done, budget.smoothed


def train_detector(options: TrainOptions, *, on_progress: ProgressCallback = _noop) -> TrainResult:
    """Train, save weights + `detector.json` to `options.out_dir`, and return what was done.

    Raises:
        InputError: the data folders hold no labelled training pages.
    """
    started = time.monotonic()
    load_tensorflow(threads=options.threads)
    pages = load_pages(options.data_dirs)
    train_names, held_out_names = split_by_document([page.stem for page in pages], hold_out=options.hold_out)
    train_pages = [page for page in pages if page.stem in set(train_names)]
    if not train_pages:
        raise InputError(f"no training pages in {', '.join(map(str, options.data_dirs))}")
    log.info(
        "%d training pages, %d pages held out (%s)", len(train_pages), len(held_out_names), options.hold_out
    )
    real = SampleSource(
        _real_samples(train_pages),
        options.config,
        crop_px=options.crop_px,
        scale_range=options.scale_range,
        paste_share=options.paste_share,
    )
    options.out_dir.mkdir(parents=True, exist_ok=True)
    names = member_weight_names(options.config, options.members)
    steps_done, losses = 0, []
    for member, name in enumerate(names):
        # Each member is the one-net recipe with its own seed (and synthetic pages) and budget.
        member_options = replace(
            options, seed=options.seed + member, max_minutes=options.max_minutes / options.members
        )
        if options.members > 1:
            log.info("member net %d of %d (seed %d)", member + 1, options.members, member_options.seed)
        which = "" if options.members == 1 else f" (net {member + 1}/{options.members})"

        def member_progress(stage: str, done: int, total: int, message: str, which: str = which) -> None:
            on_progress(stage + which, done, total, message)

        model, steps, loss = _train_member(member_options, real, member_progress)
        model.save_weights(str(options.out_dir / name))
        steps_done += steps
        losses.append(loss)
    config = replace(options.config, weights=names[0], member_weights=tuple(names[1:]))
    config.save(options.out_dir / CONFIG_FILE)
    write_split(
        options.out_dir,
        str(options.hold_out),
        train_documents=[document_of(name) for name in train_names],
        held_out_documents=[document_of(name) for name in held_out_names],
    )
    seconds = time.monotonic() - started
    loss = float(np.mean(losses))
    log.info("trained %d steps in %.0f s, loss %.4f", steps_done, seconds, loss)
    return TrainResult(options.out_dir, steps_done, seconds, loss, train_names, held_out_names, config)


def _train_member(
    options: TrainOptions, real: SampleSource, on_progress: ProgressCallback
) -> tuple[Any, int, float]:
    """One net trained on the real pages plus synthetic pages of its seed: (model, steps, loss)."""
    _seed_everything(options.seed)
    synthetic_pages = _synthetic_samples(options.synthetic_pages, options.seed, on_progress)
    synthetic = (
        SampleSource(
            synthetic_pages, options.config, crop_px=options.crop_px, scale_range=options.scale_range
        )
        if synthetic_pages
        else None
    )
    model = build_model(options.config, compute_dtype=options.compute_dtype)
    steps, loss = _fit(model, (real, synthetic), options, on_progress)
    return model, steps, loss


def member_weight_names(config: DetectorConfig, members: int) -> list[str]:
    """The weight files of `members` nets: the config's name, then `-2`, `-3`, ... before its suffix."""
    stem, dot, suffix = config.weights.partition(".")
    return [config.weights] + [f"{stem}-{index}{dot}{suffix}" for index in range(2, members + 1)]
