"""Train the `htr` recognizer: synthetic words and lines, IAM words, and augmented real crops.

Samples are preprocessed once with the recognizer's own `preprocess_crop`, grouped into
batches of similar width (the network takes any width), and trained with CTC loss under a
wall-clock budget with a cosine learning-rate decay. The best weights on the held-out
split are saved with `htr.json`, a lexicon and the training metadata.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from indexer.backends.htr.ctc import (
    WIDTH_PER_STEP,
    build_model,
    load_weights,
    preprocess_batch,
    preprocess_crop,
    save_model,
    time_steps,
)
from indexer.backends.htr.ctc_decode import best_path, labels_to_text
from indexer.backends.htr.lines import default_splitter
from indexer.model_dirs.htr import CONFIG_FILE, LEXICON_FILE, WEIGHTS_FILE, HtrConfig
from indexer.training.budget import spent_share
from indexer.training.htr.iam import read_iam_words, split_iam
from indexer.training.htr.lexicon import build_lexicon
from indexer.training.htr.metrics import OcrScore, score
from indexer.training.htr.options import TrainOptions
from indexer.training.htr.synthetic import SyntheticGenerator, augment
from indexer.training.htr.transcriptions import load_transcriptions, read_crops
from indexer.training.progress import ProgressCallback

__all__ = ["Sample", "TrainResult", "train_htr", "validate_data"]

log = logging.getLogger(__name__)

_SYNTHETIC_HOLDOUT_SHARE = 0.03
_LOG_EVERY_STEPS = 100


@dataclass(frozen=True, slots=True)
class Sample:
    """A preprocessed ink map (height, width) as uint8 and its text."""

    image: np.ndarray
    text: str


@dataclass(frozen=True)
class TrainResult:
    """What the run did and how well it did."""

    samples: int
    steps: int
    seconds: float
    holdout: OcrScore | None
    validation: OcrScore | None
    data: dict[str, int]


def _prepare(image: np.ndarray, config: HtrConfig) -> np.ndarray:
    ink = preprocess_crop(image, height=config.input_height, max_width=config.max_width)
    return (ink * 255).astype(np.uint8)


def _fits(sample: Sample, config: HtrConfig) -> bool:
    labels = config.encode(sample.text)
    repeats = sum(1 for a, b in itertools.pairwise(labels) if a == b)
    return len(labels) > 0 and len(labels) + repeats <= sample.image.shape[1] // WIDTH_PER_STEP


def _real_samples(
    options: TrainOptions, rng: np.random.Generator
) -> tuple[list[Sample], list[Sample], list[str], int]:
    """(augmented training copies, untouched validation crops, training words, crops left out)."""
    if options.transcriptions is None:
        return [], [], [], 0
    images_dir = options.images_dir or options.transcriptions.parent / "images"
    train: list[Sample] = []
    validation: list[Sample] = []
    words: list[str] = []
    several_lines = 0
    with default_splitter() as splitter:
        labelled = [
            (crop, splitter.split(pixels))
            for crop, pixels in read_crops(load_transcriptions(options.transcriptions), images_dir)
        ]
    for crop, lines in labelled:
        # The recognizer reads crops cut into lines (`LineSplitter`); it learns from the same cuts.
        # A crop of several lines has one transcription for all: which words are on which line is
        # unknown, so it is left out rather than squeezed into one line.
        if not crop.is_validation:
            words.extend(crop.text.split())
        if len(lines) > 1:
            several_lines += 1
            continue
        grey = np.asarray(Image.fromarray(lines[0]).convert("L"))
        if crop.is_validation:
            validation.append(Sample(_prepare(grey, options.config), crop.text))
            continue
        train.append(Sample(_prepare(grey, options.config), crop.text))
        for _ in range(options.real_copies):
            jitter = rng.integers(-5, 6, 4)
            height, width = grey.shape
            top, bottom = max(0, jitter[0]), height - max(0, jitter[1])
            left, right = max(0, jitter[2]), width - max(0, jitter[3])
            variant = augment(grey[top:bottom, left:right], rng, strength=0.6)
            train.append(Sample(_prepare(variant, options.config), crop.text))
    log.info("left out %d labelled crops holding several written lines", several_lines)
    return train, validation, words, several_lines


def _collect(
    options: TrainOptions,
) -> tuple[list[Sample], list[Sample], list[Sample], dict[str, int], list[str]]:
    """(train, holdout, real validation, counts per source, extra lexicon words)."""
    rng = np.random.default_rng(options.seed)
    train: list[Sample] = []
    holdout: list[Sample] = []
    counts: dict[str, int] = {}
    if options.synthetic:
        generator = SyntheticGenerator(seed=options.seed)
        synthetic = [
            Sample(_prepare(image, options.config), text) for image, text in _generate(generator, options)
        ]
        cut = int(len(synthetic) * (1 - _SYNTHETIC_HOLDOUT_SHARE))
        train += synthetic[:cut]
        holdout += synthetic[cut:]
        counts["synthetic"] = len(synthetic)
    if options.iam_dir is not None:
        iam_train, iam_validation = split_iam(read_iam_words(options.iam_dir))
        for target, iam_words in ((train, iam_train), (holdout, iam_validation)):
            for word in iam_words:
                grey = np.asarray(Image.open(word.path).convert("L"))
                target.append(Sample(_prepare(grey, options.config), word.text))
        counts["iam"] = len(iam_train) + len(iam_validation)
    real_train, real_validation, words, several_lines = _real_samples(options, rng)
    train += real_train
    counts["real_train_samples"] = len(real_train)
    counts["real_validation_crops"] = len(real_validation)
    if options.transcriptions is not None:
        counts["real_crops_of_several_lines"] = several_lines
    train = [s for s in train if _fits(s, options.config)]
    holdout = [s for s in holdout if _fits(s, options.config)]
    return train, holdout, real_validation, counts, words


def _generate(generator: SyntheticGenerator, options: TrainOptions) -> Iterable[tuple[np.ndarray, str]]:
    for _ in range(options.synthetic):
        yield generator.sample()


def _batches(samples: Sequence[Sample], batch_size: int, rng: random.Random) -> list[list[Sample]]:
    """Batches of similar width, in random order (less padding, same data each epoch)."""
    ordered = sorted(samples, key=lambda s: s.image.shape[1] + rng.random() * 16)
    batches = [list(ordered[i : i + batch_size]) for i in range(0, len(ordered), batch_size)]
    rng.shuffle(batches)
    return batches


def _arrays(batch: Sequence[Sample], config: HtrConfig) -> tuple[np.ndarray, ...]:
    images, widths = preprocess_batch([s.image.astype(np.float32) / 255 for s in batch])
    labels = [config.encode(s.text) for s in batch]
    padded = np.zeros((len(batch), max(len(label) for label in labels)), np.int32)
    for row, label in enumerate(labels):
        padded[row, : len(label)] = label
    label_lengths = np.array([len(label) for label in labels], np.int32)
    return images, padded, label_lengths, time_steps(widths)


def _read(model: Any, samples: Sequence[Sample], config: HtrConfig) -> list[str]:
    texts: list[str] = []
    for start in range(0, len(samples), 32):
        chunk = samples[start : start + 32]
        images, widths = preprocess_batch([s.image.astype(np.float32) / 255 for s in chunk])
        steps = time_steps(widths)
        logits = np.asarray(model([images, steps], training=False))
        probabilities = np.exp(logits - logits.max(axis=2, keepdims=True))
        probabilities /= probabilities.sum(axis=2, keepdims=True)
        for p, n in zip(probabilities, steps, strict=True):
            decoded = best_path(p[:n], blank_index=config.blank_index)
            text = labels_to_text(decoded.labels, config.vocabulary, blank_index=config.blank_index)
            texts.append(" ".join(text.split()))
    return texts


def _evaluate(model: Any, samples: Sequence[Sample], config: HtrConfig) -> OcrScore | None:
    if not samples:
        return None
    return score(_read(model, samples, config), [s.text for s in samples])


def _train_step_function(model: Any, optimizer: Any) -> Any:
    import keras
    import tensorflow as tf

    signature = (
        tf.TensorSpec((None, model.input_shape[0][1], None, 1), tf.float32),
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None,), tf.int32),
        tf.TensorSpec((None,), tf.int32),
    )

    @tf.function(input_signature=signature, autograph=False)  # type: ignore[untyped-decorator]
    def step(images: Any, labels: Any, label_lengths: Any, logit_lengths: Any) -> Any:
        with tf.GradientTape() as tape:
            logits = model([images, logit_lengths], training=True)
            loss = tf.reduce_mean(
                keras.ops.ctc_loss(labels, logits, label_lengths, logit_lengths, mask_index=0)
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        gradients, _ = tf.clip_by_global_norm(gradients, 5.0)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    return step


def train_htr(options: TrainOptions, *, on_progress: ProgressCallback | None = None) -> TrainResult:
    """Train, keep the best weights on the holdout, and save the model to `options.out_dir`."""
    import keras

    started = time.perf_counter()
    keras.utils.set_random_seed(options.seed)
    if options.init_dir is not None:
        options = dataclasses.replace(options, config=HtrConfig.load(options.init_dir / CONFIG_FILE))
    train, holdout, validation, counts, words = _collect(options)
    log.info(
        "training on %d samples (%s), %.0f s to prepare", len(train), counts, time.perf_counter() - started
    )
    if not train:
        raise ValueError("no training samples: give --synthetic N, --iam DIR or --transcriptions FILE")
    config = options.config
    model = build_model(config)
    if options.init_dir is not None:
        load_weights(model, options.init_dir / WEIGHTS_FILE)
        log.info("starting from the weights in %s", options.init_dir)
    optimizer = keras.optimizers.Adam(options.learning_rate)
    step_function = _train_step_function(model, optimizer)
    rng = random.Random(options.seed)
    steps_per_epoch = math.ceil(len(train) / options.batch_size)
    total = steps_per_epoch * options.epochs
    step = 0
    best: tuple[float, list[np.ndarray]] | None = None
    train_started = time.perf_counter()
    for epoch in range(options.epochs):
        losses: list[float] = []
        for batch in _batches(train, options.batch_size, rng):
            elapsed = time.perf_counter() - train_started
            fraction = spent_share(step, elapsed, total, options.max_minutes)
            optimizer.learning_rate.assign(
                options.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * fraction)))
            )
            losses.append(float(step_function(*_arrays(batch, config))))
            step += 1
            if on_progress is not None:
                on_progress("training", step, total, f"epoch {epoch + 1} loss {np.mean(losses[-50:]):.3f}")
            if step % _LOG_EVERY_STEPS == 0:
                log.info("step %d/%d: loss %.3f, %.0f s", step, total, np.mean(losses[-50:]), elapsed)
            if elapsed > options.max_minutes * 60:
                break
        held = _evaluate(model, holdout or validation, config)
        real = _evaluate(model, validation, config)
        log.info(
            "epoch %d: loss %.3f, holdout CER %s, real validation CER %s, %.0f s",
            epoch + 1,
            float(np.mean(losses)) if losses else math.nan,
            f"{held.cer:.3f}" if held else "-",
            f"{real.cer:.3f}" if real else "-",
            time.perf_counter() - train_started,
        )
        if held is not None and (best is None or held.cer <= best[0]):
            best = (held.cer, model.get_weights())
        if time.perf_counter() - train_started > options.max_minutes * 60:
            break
    if best is not None:
        model.set_weights(best[1])
    seconds = time.perf_counter() - started
    result = TrainResult(
        samples=len(train),
        steps=step,
        seconds=seconds,
        holdout=_evaluate(model, holdout, config),
        validation=_evaluate(model, validation, config),
        data=counts,
    )
    _save(model, options, result, words)
    return result


def _save(model: Any, options: TrainOptions, result: TrainResult, words: list[str]) -> None:
    metadata = {
        "version": time.strftime("%Y%m%d-%H%M%S"),
        "command": options.command,
        "data": result.data,
        "training_samples": result.samples,
        "steps": result.steps,
        "seconds": round(result.seconds),
        "holdout_cer": round(result.holdout.cer, 4) if result.holdout else None,
        "validation_cer_best_path": round(result.validation.cer, 4) if result.validation else None,
    }
    config = dataclasses.replace(options.config, metadata=metadata)
    save_model(model, config, options.out_dir)
    build_lexicon(words).save(options.out_dir / LEXICON_FILE)
    log.info("saved the htr model to %s", options.out_dir)


def validate_data(options: TrainOptions) -> dict[str, int]:
    """Read and prepare every source without training: counts per source, train and holdout sizes."""
    train, holdout, _, counts, _ = _collect(options)
    return {**counts, "train": len(train), "holdout": len(holdout)}
