"""A second stage for the handwriting detector: a small CNN that moves each box's edges.

The detector reads the whole page at a third of its resolution, and its box edges are off by a
median of 11-18 page pixels left and right (models/detector/MODEL_CARD.md). The refiner looks at
each box on its own: it cuts the box with some context around it out of the full-resolution grey
page, resizes the cut to a fixed `input_height_px` x `input_width_px` (so small boxes are seen
larger than the detector sees them), and regresses the distance from each edge to where the
labelled edge would be, as a share of the cut's width or height (`encode_offsets`). It is trained
on labelled boxes whose edges were moved at random (`indexer.training.detector.refiner`), like the
second stage of a two-stage detector.

`moved_edges` says which predicted edges are applied. The shipped refiner moves only the left and
right ones, because moving the top and bottom edges too shrank signature boxes below their labels.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.backends.base import Detection
from indexer.backends.tf_runtime import load_tensorflow
from indexer.document import Box
from indexer.errors import BackendError, DependencyError, InputError

__all__ = [
    "EDGES",
    "REFINER_CONFIG_FILE",
    "BoxRefiner",
    "Edges",
    "RefinerConfig",
    "apply_offsets",
    "box_edges",
    "build_refiner",
    "context_box",
    "cut_context",
    "encode_offsets",
    "ink_map",
]

log = logging.getLogger(__name__)

REFINER_CONFIG_FILE = "refiner.json"
#: The net's four outputs, in order.
EDGES = ("left", "top", "right", "bottom")

# (left, top, right, bottom) as float page coordinates; boxes move by fractions of a pixel here.
Edges = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class RefinerConfig:
    """What the refiner was trained with; saved beside its weights as `refiner.json`."""

    weights: str = "refiner.weights.h5"
    input_height_px: int = 64
    input_width_px: int = 256
    #: The cut around a box: its width times `context_x` and its height times `context_y` on each
    #: side, plus `context_px` page pixels, so the net sees where the ink around the box ends.
    context_x: float = 0.25
    context_y: float = 0.5
    context_px: float = 16.0
    #: Offsets are learned times this factor, so they are of order 1 for the loss.
    offset_scale: float = 10.0
    #: The edges whose refined position is used (`EDGES`); the others stay as detected.
    moved_edges: tuple[str, ...] = ("left", "right")

    def __post_init__(self) -> None:
        unknown = set(self.moved_edges) - set(EDGES)
        if unknown:
            raise InputError(f"refiner moved_edges must be among {', '.join(EDGES)}, not {sorted(unknown)}")
        if self.input_height_px % 16 or self.input_width_px % 16:
            raise InputError("the refiner's input size must be a multiple of 16 px (it pools four times)")

    @classmethod
    def load(cls, path: Path) -> RefinerConfig:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if "moved_edges" in values:
            values["moved_edges"] = tuple(values["moved_edges"])
        return cls(**values)

    def save(self, path: Path, *, extra: dict[str, Any] | None = None) -> None:
        path.write_text(json.dumps({**asdict(self), **(extra or {})}, indent=2) + "\n", encoding="utf-8")


def context_box(edges: Edges, config: RefinerConfig) -> Edges:
    """The part of the page the refiner sees for a box: the box with its context."""
    left, top, right, bottom = edges
    margin_x = config.context_x * (right - left) + config.context_px
    margin_y = config.context_y * (bottom - top) + config.context_px
    return left - margin_x, top - margin_y, right + margin_x, bottom + margin_y


def cut_context(grey: np.ndarray, edges: Edges, config: RefinerConfig) -> np.ndarray:
    """The box's context cut from a grey uint8 page and resized to the net's input (uint8).

    Outside the page counts as white paper.
    """
    left, top, right, bottom = context_box(edges, config)
    scale_x = config.input_width_px / (right - left)
    scale_y = config.input_height_px / (bottom - top)
    matrix = np.array([[scale_x, 0, -left * scale_x], [0, scale_y, -top * scale_y]], np.float32)
    size = (config.input_width_px, config.input_height_px)
    # Bilinear, as in training: warpAffine has no area filter.
    cut: np.ndarray = cv2.warpAffine(grey, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)
    return cut


def encode_offsets(edges: Edges, truth: Edges, config: RefinerConfig) -> np.ndarray:
    """The net's target for a box whose labelled edges are `truth`: each edge's move as a share
    of the context's width (left, right) or height (top, bottom), times `offset_scale`."""
    spans = _context_spans(edges, config)
    return np.array([(t - e) / s for t, e, s in zip(truth, edges, spans, strict=True)], np.float32)


def apply_offsets(edges: Edges, offsets: np.ndarray, config: RefinerConfig) -> Edges:
    """Move the `moved_edges` of a box by the net's `offsets` (the inverse of `encode_offsets`)."""
    spans = _context_spans(edges, config)
    moved = [
        edge + float(offset) * span if name in config.moved_edges else edge
        for name, edge, offset, span in zip(EDGES, edges, offsets, spans, strict=True)
    ]
    return moved[0], moved[1], moved[2], moved[3]


def _context_spans(edges: Edges, config: RefinerConfig) -> Edges:
    left, top, right, bottom = context_box(edges, config)
    width, height = (right - left) / config.offset_scale, (bottom - top) / config.offset_scale
    return width, height, width, height


def build_refiner(config: RefinerConfig) -> Any:
    """(batch, input_height_px, input_width_px, 1) ink maps -> (batch, 4) scaled edge offsets.

    Four convolution + pooling stages, one more convolution, then a dense layer that sees where in
    the cut the ink lies (a global pooling would throw that away).
    """
    from tensorflow import keras
    from tensorflow.keras import layers

    inputs = keras.Input((config.input_height_px, config.input_width_px, 1), name="cut")
    x = inputs
    for filters in (16, 32, 64, 64):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPool2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    outputs = layers.Dense(len(EDGES), name="offsets")(x)
    return keras.Model(inputs, outputs, name="box_refiner")


def ink_map(cuts: np.ndarray) -> np.ndarray:
    """uint8 cuts (n, h, w) -> the net's float32 input (n, h, w, 1): 1 - grey / 255, as the detector."""
    return (1.0 - cuts.astype(np.float32) / 255.0)[..., None]


class BoxRefiner:
    """Loads a trained refiner and moves the edges of detected boxes.

    Raises (from `__init__`):
        DependencyError: the config or weights are missing, or TensorFlow is.
    """

    name = "box-refiner"

    def __init__(self, model_dir: Path, config_file: str = REFINER_CONFIG_FILE) -> None:
        config_path = model_dir / config_file
        if not config_path.is_file():
            raise DependencyError(
                f"refiner config {config_path} is missing; train one with `indexer train-refiner`"
            )
        self.config = RefinerConfig.load(config_path)
        weights = model_dir / self.config.weights
        if not weights.is_file():
            raise DependencyError(
                f"refiner weights {weights} are missing; retrain with `indexer train-refiner`"
            )
        tf = load_tensorflow()
        model = build_refiner(self.config)
        model.load_weights(str(weights))
        shape = (None, self.config.input_height_px, self.config.input_width_px, 1)

        # One trace for any number of boxes.
        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])  # type: ignore[untyped-decorator]
        def predict(batch: Any) -> Any:
            return model(batch, training=False)

        self._predict = predict

    def refine(self, grey: np.ndarray, detections: list[Detection]) -> list[Detection]:
        """The detections with their edges moved, on a grey uint8 page in the detections' pixels."""
        if not detections:
            return detections
        edges = [box_edges(d.box) for d in detections]
        cuts = np.stack([cut_context(grey, e, self.config) for e in edges])
        try:
            offsets = np.asarray(self._predict(ink_map(cuts)))
        except Exception as exc:  # TensorFlow raises many unrelated types
            raise BackendError(f"box refinement failed: {exc}", engine=self.name) from exc
        height, width = grey.shape[:2]
        refined = []
        for detection, found, moves in zip(detections, edges, offsets, strict=True):
            box = _clipped_box(apply_offsets(found, moves, self.config), width, height)
            # A refinement that collapses a box is not trusted; the detector's box stays.
            refined.append(Detection(detection.kind, box or detection.box, detection.score))
        return refined


def box_edges(box: Box) -> Edges:
    """A box's (left, top, right, bottom) as floats, the form the refiner moves."""
    return float(box.x0), float(box.y0), float(box.x1), float(box.y1)


def _clipped_box(edges: Edges, width: int, height: int) -> Box | None:
    left, top = max(0, round(edges[0])), max(0, round(edges[1]))
    right, bottom = min(width, round(edges[2])), min(height, round(edges[3]))
    return Box(left, top, right, bottom) if right > left and bottom > top else None
