"""`htr`: our own CNN + BiLSTM + CTC handwriting recognizer (TensorFlow/Keras 3).

Split as preprocessor (`preprocess_crop`, shared with training), model (`build_model`) and
decoder (`indexer.backends.htr.ctc_decode`). The vocabulary, blank index, input size and
normalisation are read from `htr.json` beside the weights, never hard-coded here.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.backends.base import Recognition
from indexer.backends.htr.crops import is_blank_crop, to_grey
from indexer.backends.htr.ctc_decode import CtcWordScorer, best_path, labels_to_text, prefix_beam_search
from indexer.backends.htr.spelling import Lexicon, SpellingCorrector
from indexer.backends.tf_runtime import load_tensorflow
from indexer.errors import BackendError, DependencyError
from indexer.model_dirs.htr import CONFIG_FILE, LEXICON_FILE, WEIGHTS_FILE, HtrConfig, check_htr_dir

__all__ = [
    "CtcRecognizer",
    "build_model",
    "load_weights",
    "preprocess_batch",
    "preprocess_crop",
    "save_model",
    "time_steps",
]

log = logging.getLogger(__name__)

ENGINE = "htr"
#: Columns per output time step: the CNN pools the width by 2 twice.
WIDTH_PER_STEP = 4
#: Crops with less ink than this share of dark pixels are read as empty.
_MIN_INK_SHARE = 0.002
_INK_THRESHOLD = 0.35
#: A crop joins a sub-batch when it is at most this much wider than the sub-batch's narrowest.
_MAX_PADDING_RATIO = 1.6


def preprocess_crop(crop: np.ndarray, *, height: int, max_width: int) -> np.ndarray:
    """Grey, contrast-stretched, resized without distortion to `height`: a (height, w) float32 ink map.

    Ink is near 1 and paper 0, so right padding with zeros is blank paper. Crops wider than
    `max_width` at that height are squeezed horizontally (the only distortion allowed). The
    width is rounded up to a multiple of the CNN's width stride.
    """
    grey = to_grey(np.asarray(crop)).astype(np.float32)
    low, high = np.percentile(grey, (2, 98)) if grey.size else (0.0, 255.0)
    stretched = np.clip((grey - low) / max(high - low, 32.0), 0.0, 1.0)
    ink = 1.0 - stretched
    width = max(1, round(ink.shape[1] * height / max(ink.shape[0], 1)))
    width = min(width, max_width)
    resized = cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA)
    padded_width = -(-max(width, WIDTH_PER_STEP * 4) // WIDTH_PER_STEP) * WIDTH_PER_STEP
    out = np.zeros((height, padded_width), np.float32)
    out[:, :width] = resized
    return out


def preprocess_batch(images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack preprocessed crops, right-padded to the widest: (batch, height, width, 1) and widths."""
    widths = np.array([image.shape[1] for image in images], np.int32)
    batch = np.zeros((len(images), images[0].shape[0], int(widths.max()), 1), np.float32)
    for row, image in enumerate(images):
        batch[row, :, : image.shape[1], 0] = image
    return batch, widths


def time_steps(widths: np.ndarray) -> np.ndarray:
    """The model's output steps for crops of these (padded-to-stride) widths."""
    return np.maximum(np.asarray(widths, np.int32) // WIDTH_PER_STEP, 1).astype(np.int32)


def build_model(config: HtrConfig) -> Any:
    """The seed design: 5 conv layers, 2 bidirectional LSTMs, a dense layer of CTC logits.

    Inputs: images (batch, height, width, 1) and each row's valid time steps (`time_steps` of
    its width). Output: logits (batch, width / 4, classes). Every layer ignores a row's right
    padding (conv features there are zeroed, the LSTMs skip those steps), so a crop reads the
    same alone or in a batch with wider crops; without that, the backward LSTM started on
    padding and word accuracy on the validation crops fell by 0.03.
    """
    import keras
    from keras import layers

    if len(config.conv_filters) != 5:
        raise ValueError("conv_filters must list five layers")
    zero_padding, step_mask = _padding_layers()
    inputs = keras.Input((config.input_height, None, 1), name="image")
    steps = keras.Input((), dtype="int32", name="steps")
    x = inputs
    # The first two pools halve height and width; the last three only the height, so every
    # output step covers WIDTH_PER_STEP columns (enough for two steps per handwritten letter).
    pools = ((2, 2), (2, 2), (2, 1), (2, 1), (config.input_height // 16, 1))
    columns_per_step = WIDTH_PER_STEP
    for filters, pool in zip(config.conv_filters, pools, strict=True):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(pool, strides=pool)(x)
        columns_per_step //= pool[1]
        # Padding is zero in the image but not after batch norm: zero it again, as a lone
        # crop's next convolution would see it.
        x = zero_padding(columns_per_step)(x, steps)
    x = layers.Reshape((-1, config.conv_filters[-1]))(x)  # (batch, time, features)
    mask = step_mask()(x, steps)
    for _ in range(2):
        x = layers.Bidirectional(layers.LSTM(config.lstm_units, return_sequences=True))(x, mask=mask)
        x = layers.Dropout(0.2)(x)
    logits = layers.Dense(config.num_classes, name="logits")(x)
    return keras.Model([inputs, steps], logits, name="htr")


@functools.cache
def _padding_layers() -> tuple[Any, Any]:
    """Two weightless layers that hide each row's right padding (keras is imported lazily)."""
    from keras import layers, ops

    class ZeroPadding(layers.Layer):  # type: ignore[misc]
        """Zeroes the columns of (batch, height, width, channels) past `steps * columns_per_step`."""

        def __init__(self, columns_per_step: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.columns_per_step = columns_per_step

        def call(self, features: Any, steps: Any) -> Any:
            columns = ops.arange(ops.shape(features)[2])[None, :]
            keep = columns < ops.expand_dims(steps * self.columns_per_step, 1)
            return features * ops.cast(keep, features.dtype)[:, None, :, None]

        def compute_output_shape(self, features_shape: Any, steps_shape: Any) -> Any:
            return features_shape

    class StepMask(layers.Layer):  # type: ignore[misc]
        """A (batch, time) mask, True before each row's `steps`, for the recurrent layers."""

        def call(self, features: Any, steps: Any) -> Any:
            return ops.arange(ops.shape(features)[1])[None, :] < ops.expand_dims(steps, 1)

        def compute_output_shape(self, features_shape: Any, steps_shape: Any) -> Any:
            return (features_shape[0], features_shape[1])

    return ZeroPadding, StepMask


def save_model(model: Any, config: HtrConfig, directory: Path) -> None:
    """Write `htr.json` and the weights as float16 (half the size, no measurable accuracy loss)."""
    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / CONFIG_FILE)
    weights = {f"w{i:03d}": w.astype(np.float16) for i, w in enumerate(model.get_weights())}
    np.savez_compressed(directory / WEIGHTS_FILE, **weights)  # type: ignore[arg-type]


def load_weights(model: Any, path: Path) -> None:
    """Load weights saved by `save_model` into a model built from the same config."""
    with np.load(path) as stored:
        model.set_weights([stored[name].astype(np.float32) for name in sorted(stored.files)])


class CtcRecognizer:
    """Reads crops with the shipped (or a given) CNN + BiLSTM + CTC model.

    Args:
        model_dir: folder with `htr.json`, `htr.weights.npz` and optionally `lexicon.txt`.
        beam_width: 1 for best-path decoding, more for prefix beam search.
        use_lexicon: correct alphabetic words against `lexicon.txt` (`indexer.backends.htr.spelling`;
            numbers are never touched).
        threads: TensorFlow intra-op threads (0: TensorFlow's default).

    Raises:
        DependencyError: the model files are missing.
    """

    name = ENGINE

    def __init__(
        self, model_dir: Path, *, beam_width: int = 1, use_lexicon: bool = True, threads: int = 0
    ) -> None:
        check_htr_dir(model_dir)
        config_path, weights_path = model_dir / CONFIG_FILE, model_dir / WEIGHTS_FILE
        self.config = HtrConfig.load(config_path)
        self.version = str(self.config.metadata.get("version", "unversioned"))
        self._beam_width = beam_width
        lexicon_path = model_dir / LEXICON_FILE
        self._corrector: SpellingCorrector | None = None
        if use_lexicon and lexicon_path.is_file():
            self._corrector = SpellingCorrector(Lexicon.load(lexicon_path))
        self._model = _load_model(self.config, weights_path, threads=threads)

    def __enter__(self) -> CtcRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._model = None

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One `Recognition` per crop, in order; empty or blank crops give empty text."""
        results: list[Recognition | None] = [None] * len(crops)
        images: list[np.ndarray] = []
        rows: list[int] = []
        for row, crop in enumerate(crops):
            if is_blank_crop(crop):
                results[row] = Recognition("", 0.0, ENGINE)
                continue
            image = preprocess_crop(crop, height=self.config.input_height, max_width=self.config.max_width)
            if float((image > _INK_THRESHOLD).mean()) < _MIN_INK_SHARE:
                results[row] = Recognition("", 1.0, ENGINE)
                continue
            images.append(image)
            rows.append(row)
        for group in _width_groups(images):
            for index, recognition in zip(group, self._read([images[i] for i in group]), strict=True):
                results[rows[index]] = recognition
        return [r if r is not None else Recognition("", 0.0, ENGINE) for r in results]

    def _read(self, images: list[np.ndarray]) -> list[Recognition]:
        started = time.perf_counter()
        batch, widths = preprocess_batch(images)
        steps = time_steps(widths)
        try:
            probabilities = np.asarray(self._model(batch, steps))  # (batch, time, classes)
        except Exception as exc:
            raise BackendError(
                f"the model failed on a batch of {len(images)} crops: {exc}", engine=ENGINE
            ) from exc
        out = [self._decode(p[:n]) for p, n in zip(probabilities, steps, strict=True)]
        log.debug("htr read %d crops in %.3f s", len(images), time.perf_counter() - started)
        return out

    def _decode(self, probabilities: np.ndarray) -> Recognition:
        blank = self.config.blank_index
        if self._beam_width > 1:
            decoded = prefix_beam_search(probabilities, blank_index=blank, beam_width=self._beam_width)
        else:
            decoded = best_path(probabilities, blank_index=blank)
        text = labels_to_text(decoded.labels, self.config.vocabulary, blank_index=blank).strip()
        text = " ".join(text.split())
        if self._corrector is not None:
            # Best path knows where each word lies, so candidates are weighed by the model's own
            # output there; beam search does not, and ranks them by distance and frequency.
            scorer = None
            if decoded.steps:
                scorer = CtcWordScorer(probabilities, decoded, self.config.vocabulary, blank_index=blank)
                if len(scorer.windows) != len(text.split()):  # a vocabulary with other blank characters
                    scorer = None
            text = self._corrector.correct(text, scorer)
        return Recognition(text, decoded.confidence, ENGINE)


def _width_groups(images: Sequence[np.ndarray]) -> list[list[int]]:
    """Indices of the images in groups of similar width, so narrow crops are not padded to the widest."""
    order = sorted(range(len(images)), key=lambda i: images[i].shape[1])
    groups: list[list[int]] = []
    for index in order:
        if groups and images[index].shape[1] <= _MAX_PADDING_RATIO * images[groups[-1][0]].shape[1]:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _load_model(config: HtrConfig, weights_path: Path, *, threads: int) -> Any:
    tf = load_tensorflow(threads=threads)
    model = build_model(config)
    try:
        load_weights(model, weights_path)
    except (ValueError, OSError, KeyError) as exc:
        raise DependencyError(
            f"{weights_path} does not match {CONFIG_FILE} ({exc}); retrain with `indexer train-htr`"
        ) from exc
    signature = [
        tf.TensorSpec((None, config.input_height, None, 1), tf.float32),
        tf.TensorSpec((None,), tf.int32),
    ]

    # A graph with a free width: the LSTMs run as a compiled loop, not step by step in eager mode.
    @tf.function(input_signature=signature, autograph=False)  # type: ignore[untyped-decorator]
    def probabilities(images: Any, steps: Any) -> Any:
        return tf.nn.softmax(model([images, steps], training=False), axis=-1)

    return probabilities
