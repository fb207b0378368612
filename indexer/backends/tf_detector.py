"""Our handwriting detector: a small fully convolutional net that marks handwriting per pixel.

Split as preprocessor -> model -> decoder. The page is turned grey, scaled so its short side is
`short_side_px` and padded; the net predicts, at half that resolution, per-pixel probabilities of
background, signature and annotation and (with `box_head`, the `fcn-v2` design) two more things
per pixel: whether it lies in the *kernel* of a box (the box shrunk towards its centre) and its
distances to the four edges of that box. The decoder makes one box per kernel region from the
distances its pixels predict, so touching fields stay apart and a box gets its labelled extent
even where the net marks only part of it. (Text detectors such as PSENet separate touching words
with shrunk kernels the same way; FCOS regresses the four edge distances per pixel.) Kernel
regions are found regardless of class and each takes the class most of its pixels lean to: read
per class, a class map that wavers inside one signature gave it a signature box *and* an
annotation box. Since the edges are regressed, the box head also works at 1/4 resolution
(`output_stride` 4), a cheaper net; the shipped model reads out at 1/2, where its box edges fit
the labels a little better (models/detector/MODEL_CARD.md). A box refiner
(`indexer.backends.box_refiner`), named in the config, may then move each box's edges. Without
the box head (`fcn-v1`) each connected region of a class becomes its bounding box. Either way,
boxes of one class that mostly overlap can be merged (`merge_share`), and of two boxes of
different classes that mostly overlap the better one kept (`class_overlap_share`), so one field
does not come out as two stacked boxes.

The page may be read at several scales (`test_scales`, test-time augmentation): each scale's
outputs are resampled onto the grid of scale 1, their edge distances converted to that grid's
pixels, and all are averaged before decoding. A box one scale alone imagines rarely survives the
average, and the edges come out as a mean of several estimates.

A model may also be several nets of one design trained with different seeds (`member_weights`,
`indexer train-detector --members N`): at each scale the nets' outputs are averaged before the
scales are. Nets trained with different seeds on few pages disagree on the boxes they doubt, and
averaging them is the usual way to steady that. The shipped model is one net: two nets of half
its training each scored lower (models/detector/MODEL_CARD.md, notes).

Training (`indexer.training.detector.train`) uses the same `preprocess` and `build_model`, and
writes the JSON config this module reads at load time.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.backends.base import Detection
from indexer.backends.box_refiner import BoxRefiner
from indexer.backends.tf_runtime import load_tensorflow
from indexer.document import Box, HandwritingKind
from indexer.errors import BackendError, DependencyError, InputError

__all__ = [
    "COMPUTE_DTYPES",
    "CONFIG_FILE",
    "OUTPUT_STRIDES",
    "STEMS",
    "DetectorConfig",
    "PageReading",
    "TfBoxDetector",
    "build_model",
    "decode",
    "drop_other_class_overlaps",
    "fuse_scales",
    "merge_overlapping",
    "preprocess",
]

log = logging.getLogger(__name__)

CONFIG_FILE = "detector.json"
#: The net's first layer: a convolution at the input resolution, or one that already halves it.
STEMS = ("full", "strided")
#: Output resolutions the net can be built for (1/2 or 1/4 of its input).
OUTPUT_STRIDES = (2, 4)
#: Training may compute in bfloat16 (Keras' mixed policy: float32 weights, bfloat16 maths).
COMPUTE_DTYPES = ("float32", "bfloat16")
#: Output channels, in order; index 0 is background.
CLASS_NAMES = ("background", "signature", "annotation")
_KINDS = (HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION)


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """What the weights were trained with; saved beside them as `detector.json`."""

    version: str = "fcn-v1"
    weights: str = "detector.weights.h5"
    #: Weights of further nets of this design (other seeds), in this folder; at each test scale
    #: the outputs of all the nets are averaged (module doc). Empty: one net.
    member_weights: tuple[str, ...] = ()
    #: The page's short side is scaled to this many pixels (a letter page at 200 dpi: 1700 -> 1/3).
    short_side_px: int = 576
    #: Inputs are padded (white) to a multiple of this (the net downsamples by 8).
    pad_multiple_px: int = 16
    #: Probabilities come out at 1/`output_stride` of the input resolution (`OUTPUT_STRIDES`).
    output_stride: int = 2
    #: Normalisation: ink = 1 - grey / 255, so paper is 0 and black ink is 1.
    normalisation: str = "1 - grey/255"
    base_filters: int = 16
    class_names: tuple[str, ...] = CLASS_NAMES
    #: Minimum class probability for a pixel to count; annotations may use a stricter one.
    score_threshold: float = 0.5
    annotation_threshold: float | None = None
    #: Closing kernel (output pixels) that merges fragments of one field into one box.
    close_px: int = 3
    #: Opening kernel (output pixels) that cuts thin bridges between neighbouring fields.
    open_px: int = 1
    #: Components smaller than this (output pixels) are dropped.
    min_area_px: int = 40
    #: Boxes grow by this many output pixels on each side (the labels are loose around the ink).
    pad_px: int = 0
    # The defaults of `stem` and `box_head` are the fcn-v1 design, because config files written
    # before these fields existed describe it. What `indexer train-detector` trains by default is
    # `detector_train.TRAINED_DESIGN`.
    #: "full" runs a convolution at the input resolution first; with "strided" the first
    #: convolution already halves the page (a cheaper step).
    stem: str = "full"
    #: Predict kernels and edge distances, and decode one box per kernel (fcn-v2; module doc).
    box_head: bool = False
    #: A box's kernel: the box shrunk on each side by this share of its shorter side.
    kernel_shrink: float = 0.25
    #: Minimum kernel probability; kernel regions smaller than `min_kernel_area_px` *input* pixels
    #: (so the same area at either output stride) are dropped.
    kernel_threshold: float = 0.5
    min_kernel_area_px: int = 24
    #: Edge distances are predicted as log(distance / box_scale_px), distance in output pixels.
    box_scale_px: float = 16.0
    # The next four change only how a reading is decoded, not the net; `indexer
    # calibrate-detector` chooses them by nested cross-validation over fold models.
    #: Boxes of one class whose overlap covers at least this share of the smaller box are one
    #: field and merge into their union (None: kept as found). Neighbouring kernels of one
    #: field can each give a box; overlapping boxes would get overlapping anchors downstream.
    merge_share: float | None = None
    #: Of two boxes of different classes whose overlap covers at least this share of the smaller
    #: box, only the higher-scoring one is kept (None: both kept): one piece of handwriting has
    #: one class, and two stacked boxes would get two anchors downstream.
    class_overlap_share: float | None = None
    #: Scales (multiplying the resize factor) the page is read at; their outputs are averaged
    #: on the grid of scale 1 (module doc). One pass at (1.0,) is the plain model.
    test_scales: tuple[float, ...] = (1.0,)
    #: A box-head region is an annotation when its mean annotation probability times this beats
    #: its mean signature probability. Above 1 it leans ambiguous regions (a cursive name under a
    #: signature) towards annotation; 1 leaves the net's own decision.
    annotation_prior: float = 1.0
    #: The config file of a box refiner in the same folder that moves the decoded boxes' edges
    #: (`indexer.backends.box_refiner`); None: boxes stay as decoded.
    refiner: str | None = None

    @property
    def output_channels(self) -> int:
        """Class probabilities, then (box head) the kernel probability and 4 log edge distances."""
        return len(self.class_names) + (5 if self.box_head else 0)

    def __post_init__(self) -> None:
        if self.stem not in STEMS:
            raise InputError(f"detector stem must be one of {', '.join(STEMS)}, not {self.stem!r}")
        if self.output_stride not in OUTPUT_STRIDES:
            choices = ", ".join(map(str, OUTPUT_STRIDES))
            raise InputError(f"detector output stride must be one of {choices}, not {self.output_stride}")
        for name in ("merge_share", "class_overlap_share"):
            share = getattr(self, name)
            if share is not None and not 0.0 < share <= 1.0:
                raise InputError(f"detector {name} must lie in (0, 1] or be null, not {share}")
        if self.short_side_px < 64:
            raise InputError(f"detector short_side_px must be at least 64, not {self.short_side_px}")
        if not self.annotation_prior > 0:
            raise InputError(f"detector annotation_prior must be positive, not {self.annotation_prior}")
        if self.annotation_prior != 1.0 and not self.box_head:
            raise InputError("detector annotation_prior only applies to the box head (fcn-v2); leave it at 1")
        if not self.test_scales or not all(0.25 <= scale <= 4.0 for scale in self.test_scales):
            raise InputError(
                f"detector test_scales must be one or more scales in [0.25, 4], not {self.test_scales}"
            )

    def threshold_for(self, kind: HandwritingKind) -> float:
        if kind is HandwritingKind.ANNOTATION and self.annotation_threshold is not None:
            return self.annotation_threshold
        return self.score_threshold

    @classmethod
    def load(cls, path: Path) -> DetectorConfig:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for name in ("class_names", "test_scales", "member_weights"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    def save(self, path: Path, *, extra: dict[str, Any] | None = None) -> None:
        path.write_text(json.dumps({**asdict(self), **(extra or {})}, indent=2) + "\n", encoding="utf-8")


def preprocess(image: np.ndarray, config: DetectorConfig, *, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """A page (H, W, 3) RGB or (H, W) grey uint8 -> ((h, w, 1) float32 ink map, resize factor).

    `scale` multiplies the resize factor (training uses it for scale augmentation). The result is
    padded at the bottom and right to a multiple of `pad_multiple_px`.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    factor = _resize_factor(grey.shape, config) * scale
    height = max(1, round(grey.shape[0] * factor))
    width = max(1, round(grey.shape[1] * factor))
    small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
    multiple = config.pad_multiple_px
    padded = np.full((-(-height // multiple) * multiple, -(-width // multiple) * multiple), 255, np.uint8)
    padded[:height, :width] = small
    return (1.0 - padded.astype(np.float32) / 255.0)[..., None], factor


def _resize_factor(shape: tuple[int, ...], config: DetectorConfig) -> float:
    """The factor that brings a page of `shape` (height, width, ...) to `short_side_px` (scale 1)."""
    return config.short_side_px / min(shape[:2])


def build_model(config: DetectorConfig, *, compute_dtype: str = "float32") -> Any:
    """The fully convolutional net: (batch, h, w, 1) -> (batch, h/s, w/s, `output_channels`) for
    s = `output_stride`.

    Channels: the class softmax, then with the box head the kernel probability (sigmoid) and the
    four log edge distances (left, top, right, bottom; linear). With `compute_dtype` "bfloat16"
    the hidden layers compute in bfloat16 on float32 weights (a third faster to train on CPUs
    with AVX-512 BF16); the heads stay float32, and the weights load into a float32 net.

    Raises:
        InputError: `compute_dtype` is not one of `COMPUTE_DTYPES`.
    """
    from tensorflow import keras

    if compute_dtype not in COMPUTE_DTYPES:
        raise InputError(f"compute dtype must be one of {', '.join(COMPUTE_DTYPES)}, not {compute_dtype!r}")
    layers = keras.layers
    width = config.base_filters
    policy = "mixed_bfloat16" if compute_dtype == "bfloat16" else "float32"

    def conv(x: Any, filters: int, *, strides: int = 1, dilation: int = 1) -> Any:
        x = layers.Conv2D(
            filters, 3, strides=strides, dilation_rate=dilation, padding="same", use_bias=False, dtype=policy
        )(x)
        return layers.ReLU(dtype=policy)(layers.BatchNormalization(dtype=policy)(x))

    inputs = keras.Input((None, None, 1), name="page")
    x = conv(inputs, width // 2) if config.stem == "full" else inputs
    half = conv(conv(x, width, strides=2), width)  # 1/2
    quarter = conv(conv(half, 2 * width, strides=2), 2 * width)  # 1/4
    eighth = conv(quarter, 3 * width, strides=2)  # 1/8
    for dilation in (2, 4, 8):  # wide context: a signature block vs. a filled-in blank
        eighth = conv(eighth, 3 * width, dilation=dilation)
    up = layers.Concatenate(dtype=policy)([layers.UpSampling2D(2, dtype=policy)(eighth), quarter])
    up = conv(up, 2 * width)
    features = 2 * width
    if config.output_stride == 2:
        up = layers.Concatenate(dtype=policy)([layers.UpSampling2D(2, dtype=policy)(up), half])
        up = conv(up, width)
        features = width
    outputs = layers.Conv2D(len(config.class_names), 1, activation="softmax", name="classes")(up)
    if config.box_head:
        # A layer of its own, so the box geometry does not crowd the class features.
        boxes = conv(up, features)
        kernel = layers.Conv2D(1, 1, activation="sigmoid", name="kernel")(boxes)
        distances = layers.Conv2D(4, 1, name="edge_distances")(boxes)
        outputs = layers.Concatenate(name="heads")([outputs, kernel, distances])
    return keras.Model(inputs, outputs, name="handwriting_fcn")


def _component_boxes(
    mask: np.ndarray, probabilities: np.ndarray, config: DetectorConfig
) -> list[tuple[float, float, float, float, float]]:
    """Connected regions of a binary (h, w) mask -> (x0, y0, x1, y1, mean score) in output pixels."""
    if config.open_px > 1:
        kernel = np.ones((config.open_px, config.open_px), np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    if config.close_px > 1:
        kernel = np.ones((config.close_px, config.close_px), np.uint8)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = []
    for label in range(1, count):
        x, y, width, height, area = (int(v) for v in stats[label])
        if area < config.min_area_px:
            continue
        score = float(probabilities[labels == label].mean())
        found.append((float(x), float(y), float(x + width), float(y + height), score))
    return found


def _kernel_boxes(
    outputs: np.ndarray, config: DetectorConfig
) -> list[tuple[HandwritingKind, tuple[float, float, float, float], float]]:
    """One (kind, box in output pixels, score) per kernel region.

    A kernel pixel is one whose kernel probability and handwriting probability (signature +
    annotation) pass their thresholds. Each pixel predicts the box's edges from its own position;
    the region takes the median of them, and the class whose mean probability over the region is
    higher, the annotation's weighted by `annotation_prior`. The score is the region's mean
    handwriting probability.
    """
    classes = len(config.class_names)
    handwriting = outputs[..., 1:classes].sum(axis=-1)
    kernels = (handwriting >= config.score_threshold) & (outputs[..., classes] >= config.kernel_threshold)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kernels.astype(np.uint8), connectivity=8)
    min_area = config.min_kernel_area_px / config.output_stride**2
    found = []
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < min_area:
            continue
        rows, cols = np.nonzero(labels == label)
        distances = config.box_scale_px * np.exp(np.clip(outputs[rows, cols, classes + 1 :], -8.0, 8.0))
        # A pixel's centre lies at +0.5; the targets measure from there (detector_model).
        centre_x, centre_y = cols + 0.5, rows + 0.5
        box = (
            float(np.median(centre_x - distances[:, 0])),
            float(np.median(centre_y - distances[:, 1])),
            float(np.median(centre_x + distances[:, 2])),
            float(np.median(centre_y + distances[:, 3])),
        )
        signature, annotation = outputs[rows, cols, 1:classes].mean(axis=0)
        kind = _KINDS[1] if config.annotation_prior * annotation > signature else _KINDS[0]
        found.append((kind, box, float(handwriting[rows, cols].mean())))
    return found


def _to_original(box: tuple[float, float, float, float], scale: float, size: tuple[int, int]) -> Box:
    """A box in output pixels -> integer pixels of the original (height, width) image."""
    height, width = size
    x0, y0, x1, y1 = box
    # (+1e-3: float noise in predicted edges must not cost a pixel.)
    left = min(max(int(x0 * scale + 1e-3), 0), width - 1)
    top = min(max(int(y0 * scale + 1e-3), 0), height - 1)
    right = max(min(round(x1 * scale), width), left + 1)
    bottom = max(min(round(y1 * scale), height), top + 1)
    return Box(left, top, right, bottom)


def fuse_scales(
    outputs: list[np.ndarray],
    factors: list[float],
    base_factor: float,
    grid: tuple[int, int],
    config: DetectorConfig,
) -> np.ndarray:
    """Average net outputs read at several resize factors on the (rows, cols) grid of `base_factor`.

    Probabilities are resampled as they are. Edge distances are log(d / box_scale_px) in their
    own grid's pixels, so each scale's are shifted by log(base_factor / factor) first.
    """
    classes = len(config.class_names)
    rows, cols = grid
    resampled = []
    for output, factor in zip(outputs, factors, strict=True):
        output = np.array(output, np.float32)
        if config.box_head:
            output[..., classes + 1 :] += np.log(base_factor / factor)
        if output.shape[:2] != grid:
            output = cv2.resize(output, (cols, rows), interpolation=cv2.INTER_LINEAR)
        resampled.append(output)
    return np.asarray(np.mean(resampled, axis=0), np.float32)


def decode(
    outputs: np.ndarray, factor: float, size: tuple[int, int], config: DetectorConfig
) -> list[Detection]:
    """(h, w, `output_channels`) net outputs -> boxes in the original (height, width) image's pixels."""
    classes = len(config.class_names)
    to_original = config.output_stride / factor
    detections = []
    if config.box_head:
        for kind, box, score in _kernel_boxes(outputs, config):
            detections.append(
                Detection(kind, _to_original(box, to_original, size), min(max(score, 0.0), 1.0))
            )
    else:
        winner = outputs[..., :classes].argmax(axis=-1)
        pad = config.pad_px
        for channel, kind in enumerate(_KINDS, start=1):
            class_map = outputs[..., channel]
            mask = ((winner == channel) & (class_map >= config.threshold_for(kind))).astype(np.uint8)
            for x0, y0, x1, y1, score in _component_boxes(mask, class_map, config):
                grown = _to_original((x0 - pad, y0 - pad, x1 + pad, y1 + pad), to_original, size)
                detections.append(Detection(kind, grown, min(max(score, 0.0), 1.0)))
    if config.merge_share is not None:
        detections = merge_overlapping(detections, config.merge_share)
    if config.class_overlap_share is not None:
        detections = drop_other_class_overlaps(detections, config.class_overlap_share)
    return sorted(detections, key=lambda d: (d.box.y0, d.box.x0))


def merge_overlapping(detections: list[Detection], share: float) -> list[Detection]:
    """Merge same-class boxes whose overlap covers >= `share` of the smaller one into their union.

    Repeats until no pair qualifies, so a chain of overlapping boxes becomes one. The merged box
    keeps the higher score.
    """
    merged = list(detections)
    while (pair := _overlapping_pair(merged, share)) is not None:
        first, second = merged[pair[0]], merged[pair[1]]
        merged[pair[0]] = Detection(first.kind, first.box.union(second.box), max(first.score, second.score))
        del merged[pair[1]]
    return merged


def drop_other_class_overlaps(detections: list[Detection], share: float) -> list[Detection]:
    """Keep, best score first, each box unless a kept box of the other class overlaps it by
    `share` of the smaller of the two."""
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: -d.score):
        if not any(
            other.kind is not candidate.kind and _overlap_share(other.box, candidate.box) >= share
            for other in kept
        ):
            kept.append(candidate)
    return kept


def _overlap_share(first: Box, second: Box) -> float:
    """The overlap of two boxes as a share of the smaller one."""
    return first.intersection(second) / max(min(first.area, second.area), 1)


def _overlapping_pair(detections: list[Detection], share: float) -> tuple[int, int] | None:
    """Indices (i < j) of the first two same-class boxes that overlap by `share` of the smaller."""
    for i, first in enumerate(detections):
        for j in range(i + 1, len(detections)):
            second = detections[j]
            if first.kind is second.kind and _overlap_share(first.box, second.box) >= share:
                return i, j
    return None


class TfBoxDetector:
    """Loads the shipped FCN (config JSON + weights) and finds handwriting boxes on pages.

    Raises (from `__init__`):
        DependencyError: the model folder, its config or its weights are missing, or TensorFlow is.
    """

    name = "fcn"

    def __init__(
        self,
        model_dir: Path,
        *,
        threads: int = 2,
        score_threshold: float | None = None,
        use_refiner: bool = True,
    ) -> None:
        config_path = model_dir / CONFIG_FILE
        if not config_path.is_file():
            raise DependencyError(
                f"detector config {config_path} is missing; set detector.model_dir or train one "
                "with `indexer train-detector`"
            )
        config = DetectorConfig.load(config_path)
        if score_threshold is not None:
            overrides = {"score_threshold": score_threshold, "annotation_threshold": None}
            config = DetectorConfig(**{**asdict(config), **overrides})
        self.config = config
        self.version = config.version
        weights = [model_dir / name for name in (config.weights, *config.member_weights)]
        self._predict = _load_predictor(weights, config, threads)
        self.refiner = BoxRefiner(model_dir, config.refiner) if config.refiner and use_refiner else None

    def __enter__(self) -> TfBoxDetector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def outputs(
        self, image: np.ndarray, test_scales: tuple[float, ...] | None = None
    ) -> tuple[np.ndarray, float]:
        """The net's outputs (h, w, `output_channels`) cropped to the page, and the resize factor.

        Channels 0-2 are the class probabilities; see `build_model` for the box head's channels.
        With several test scales (`test_scales`, else the config's) the outputs are their average
        on scale 1's grid (`fuse_scales`).
        """
        grey = _checked_grey(image)
        read = [self._read(grey, scale) for scale in test_scales or self.config.test_scales]
        base_factor = _resize_factor(image.shape, self.config)
        # One read at scale 1 passes through unchanged: same grid, distances shifted by log(1).
        fused = fuse_scales(
            [output for output, _ in read],
            [factor for _, factor in read],
            base_factor,
            self._grid(image, base_factor),
            self.config,
        )
        return fused, base_factor

    def _read(self, image: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
        """One pass of the net at `scale`: outputs cropped to the page, and the resize factor."""
        tensor, factor = preprocess(image, self.config, scale=scale)
        try:
            output = self._predict(tensor[None])
        except Exception as exc:  # TensorFlow raises many unrelated types
            raise BackendError(f"inference failed: {exc}", engine=self.name) from exc
        rows, cols = self._grid(image, factor)
        return np.asarray(output)[0, :rows, :cols], factor

    def _grid(self, image: np.ndarray, factor: float) -> tuple[int, int]:
        """(rows, cols) of the outputs that cover the page (not its padding) at resize `factor`."""
        stride = self.config.output_stride
        return -(-round(image.shape[0] * factor) // stride), -(-round(image.shape[1] * factor) // stride)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Handwriting boxes on one (height, width, 3) uint8 RGB page, in its pixels."""
        started = time.perf_counter()
        detections = self.boxes(self.read(image))
        log.debug("detected %d boxes in %.3f s", len(detections), time.perf_counter() - started)
        return detections

    def read(self, image: np.ndarray, test_scales: tuple[float, ...] | None = None) -> PageReading:
        """The net's reading of one page at all `test_scales` (else the config's), to decode with
        `boxes`; a calibration reads a page once per set of scales it tries."""
        grey = _checked_grey(image)  # once for every scale and the refiner
        outputs, factor = self.outputs(grey, test_scales)
        return PageReading(grey, outputs, factor)

    def boxes(
        self, reading: PageReading, config: DetectorConfig | None = None, *, refine: bool = True
    ) -> list[Detection]:
        """Decode a reading into boxes, refined unless `refine` is False; `config` replaces the
        model's decoding settings (not its net), so a calibration can try several on one reading."""
        detections = decode(reading.outputs, reading.factor, reading.grey.shape[:2], config or self.config)
        if refine and self.refiner is not None:
            detections = self.refiner.refine(reading.grey, detections)
        return detections


@dataclass(frozen=True, slots=True)
class PageReading:
    """One page as the net read it: the grey page, the fused outputs and their resize factor."""

    grey: np.ndarray
    outputs: np.ndarray
    factor: float


def _checked_grey(image: np.ndarray) -> np.ndarray:
    """A (height, width, 3) RGB or already grey uint8 page as grey.

    Raises:
        InputError: not a uint8 page of at least 2x2 pixels.
    """
    if image.ndim not in (2, 3) or image.dtype != np.uint8 or min(image.shape[:2]) < 2:
        raise InputError(f"expected a (height, width, 3) uint8 page, got {image.dtype} {image.shape}")
    grey: np.ndarray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    return grey


def _load_predictor(weights: list[Path], config: DetectorConfig, threads: int) -> Any:
    """One compiled function: a (1, h, w, 1) batch -> the mean of the outputs of the nets whose
    weights are listed (one net: its outputs)."""
    for path in weights:
        if not path.is_file():
            raise DependencyError(
                f"detector weights {path} are missing; retrain with `indexer train-detector`"
            )
    tf = load_tensorflow(threads=threads, inter_op_threads=1)
    models = []
    for path in weights:
        model = build_model(config)
        try:
            model.load_weights(str(path))
        except (OSError, ValueError) as exc:
            raise DependencyError(
                f"detector weights {path} cannot be loaded ({exc}); restore the model folder or retrain "
                "with `indexer train-detector`"
            ) from exc
        models.append(model)

    @tf.function(  # type: ignore[untyped-decorator]
        input_signature=[tf.TensorSpec((1, None, None, 1), tf.float32)], reduce_retracing=True
    )
    def predict(batch: Any) -> Any:
        outputs = [model(batch, training=False) for model in models]
        return outputs[0] if len(outputs) == 1 else tf.add_n(outputs) / len(outputs)

    return predict
