"""Training samples for the handwriting FCN: per-pixel targets, crops, augmentation, loss.

A labelled page is kept grey at half resolution with its boxes in original pixels. A sample is a
random crop of the page after the detector's own `preprocess` (with a random scale), a small
rotation and scan-like photometric noise. Its target, at the net's output resolution, is the
class map of the filled boxes (0 background, 1 signature, 2 annotation) and, for the box head,
per pixel: 1 inside its box's kernel (the box shrunk by `kernel_shrink` of its shorter side on
each side) and the log distances from the pixel's centre to the box's four edges. A pixel belongs
to the box painted last over it: signatures over annotations, smaller boxes over larger ones.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from indexer.backends.detector.net import preprocess
from indexer.document import Box, HandwritingKind
from indexer.model_dirs.detector import DetectorConfig
from indexer.training.data.augment import photometric, rotate_pair, rotation_matrix
from indexer.training.data.paste import PasteSource, paste_handwriting
from indexer.training.data.voc import LabelledBox
from indexer.training.detector.options import TrainOptions, check_box_loss

__all__ = [
    "BOX_LOSS_WEIGHT",
    "CLASS_INDEX",
    "PageSample",
    "SampleSource",
    "box_targets",
    "detector_loss",
    "paint_instances",
    "weighted_cross_entropy",
]

log = logging.getLogger(__name__)

CLASS_INDEX = {HandwritingKind.SIGNATURE: 1, HandwritingKind.ANNOTATION: 2}
_STORE_FACTOR = 0.5  # pages are kept at half resolution in memory
_MAX_ROTATION_DEG = 1.5
_FOCUS_SHARE = 0.5  # share of crops centred on a labelled box rather than anywhere
_PASTES_PER_PAGE = (1, 4)  # a page drawn for copy-paste gets this many cuts (inclusive)
#: Weight of the kernel and edge-distance terms against the class cross-entropy; at 1 the box
#: terms take capacity from the class features, and signatures and annotations get confused.
BOX_LOSS_WEIGHT = 0.5


@dataclass(slots=True)
class PageSample:
    """A page held in memory for training: grey at half resolution, boxes in original pixels."""

    grey: np.ndarray  # (height/2, width/2) uint8
    original_size: tuple[int, int]  # (height, width)
    boxes: list[LabelledBox]
    name: str


def paint_instances(
    boxes: Sequence[LabelledBox], shape: tuple[int, ...], factor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paint the boxes (scaled by `factor`) into a (height, width) uint16 map of box numbers.

    Returns the map (0 = no box, k = the k-th painted box), each number's box as float
    (x0, y0, x1, y1) rows (row 0 unused) and each number's class index. Annotations are painted
    first and larger boxes before smaller ones, so a signature, or a box nested in another, keeps
    its pixels.
    """
    order = sorted(boxes, key=lambda item: (-CLASS_INDEX[item.kind], -item.box.area))
    numbers = np.zeros(shape[:2], np.uint16)
    coords = np.zeros((len(order) + 1, 4), np.float32)
    classes = np.zeros(len(order) + 1, np.uint8)
    for number, item in enumerate(order, start=1):
        scaled = item.box.scaled(factor)
        numbers[scaled.y0 : scaled.y1, scaled.x0 : scaled.x1] = number
        coords[number] = scaled.as_tuple()
        classes[number] = CLASS_INDEX[item.kind]
    return numbers, coords, classes


def box_targets(
    numbers: np.ndarray, coords: np.ndarray, stride: int, shrink: float, scale: float
) -> np.ndarray:
    """Kernel flags and log edge distances for an output-resolution map of box numbers.

    `coords` are the boxes in input pixels; distances are measured from each output pixel's
    centre in output pixels, clipped below at a quarter pixel, and stored as log(d / `scale`).
    Returns (h, w, 5) float32: kernel, then left, top, right, bottom.
    """
    rows, cols = np.indices(numbers.shape, dtype=np.float32)
    boxes = coords[numbers] / stride  # (h, w, 4) in output pixels
    centre_x, centre_y = cols + 0.5, rows + 0.5
    distances = np.stack(
        [
            centre_x - boxes[..., 0],
            centre_y - boxes[..., 1],
            boxes[..., 2] - centre_x,
            boxes[..., 3] - centre_y,
        ],
        axis=-1,
    )
    distances = np.maximum(distances, 0.25)
    short_side = np.minimum(distances[..., 0] + distances[..., 2], distances[..., 1] + distances[..., 3])
    kernel = (numbers > 0) & (distances.min(axis=-1) >= shrink * short_side)
    out = np.zeros((*numbers.shape, 5), np.float32)
    out[..., 0] = kernel
    out[..., 1:] = np.where(kernel[..., None], np.log(distances / scale), 0.0)
    return out


def _downsample_target(target: np.ndarray, stride: int) -> np.ndarray:
    """Class map at 1/stride: a cell takes the class at its centre.

    Taking any class present in the cell instead grew every labelled box by half a cell per side
    on average, and the net learnt to mark boxes that much too large.
    """
    height, width = target.shape[0] // stride, target.shape[1] // stride
    centre = stride // 2
    return np.ascontiguousarray(target[centre : height * stride : stride, centre : width * stride : stride])


def _box_corners(coords: np.ndarray) -> np.ndarray:
    """(n, 4) boxes (x0, y0, x1, y1) -> (n, 4, 2) corner points."""
    x0, y0, x1, y1 = (coords[:, i] for i in range(4))
    return np.stack(
        [np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x0, y1], -1), np.stack([x1, y1], -1)], 1
    )


def _crop(
    image: np.ndarray, target: np.ndarray, top: int, left: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """A size x size window at (top, left) that may reach outside (padded white / background)."""
    out_image = np.full((size, size), 255, np.uint8)
    out_target = np.zeros((size, size), target.dtype)
    src_top, src_left = max(top, 0), max(left, 0)
    piece = image[src_top : top + size, src_left : left + size]
    rows, cols = piece.shape[:2]
    dst_top, dst_left = src_top - top, src_left - left
    out_image[dst_top : dst_top + rows, dst_left : dst_left + cols] = piece
    out_target[dst_top : dst_top + rows, dst_left : dst_left + cols] = target[
        src_top : src_top + rows, src_left : src_left + cols
    ]
    return out_image, out_target


class SampleSource:
    """Draws augmented training crops from a list of pages."""

    def __init__(
        self,
        pages: Sequence[PageSample],
        config: DetectorConfig,
        *,
        crop_px: int,
        scale_range: tuple[float, float] = TrainOptions.scale_range,
        paste_share: float = 0.0,
    ) -> None:
        if not pages:
            raise ValueError("a sample source needs at least one page")
        self.pages = list(pages)
        self.config = config
        self.crop_px = crop_px
        self.scale_range = scale_range
        #: Share of samples whose page first gets handwriting cut from this source's pages.
        self.paste_share = paste_share
        self._paste = (
            PasteSource(
                [page.grey for page in self.pages], [page.boxes for page in self.pages], _STORE_FACTOR
            )
            if paste_share > 0
            else None
        )

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One (crop, crop, 1) float32 input and its target at 1/stride of the crop.

        The target is the uint8 class map, or with the box head (h, w, 6) float32: the class,
        then the `box_targets` channels.
        """
        page = self.pages[int(rng.integers(len(self.pages)))]
        if self._paste is not None and rng.random() < self.paste_share:
            count = int(rng.integers(_PASTES_PER_PAGE[0], _PASTES_PER_PAGE[1] + 1))
            grey, boxes = paste_handwriting(page.grey, page.boxes, self._paste, rng, count=count)
            page = replace(page, grey=grey, boxes=boxes)
        scale = float(rng.uniform(*self.scale_range))
        tensor, factor = preprocess(page.grey, self.config, scale=scale)
        # `factor` maps the half-resolution copy; boxes are in original pixels.
        box_factor = factor * _STORE_FACTOR
        image = np.asarray(np.round((1.0 - tensor[..., 0]) * 255.0), np.uint8)
        numbers, coords, classes = paint_instances(page.boxes, image.shape, box_factor)
        top, left = self._crop_origin(page, image.shape, box_factor, rng)
        # Crop with a margin, rotate, then cut the final crop: cheaper than rotating the page.
        margin = self.crop_px // 8
        size = self.crop_px + 2 * margin
        image, numbers = _crop(image, numbers, top - margin, left - margin, size)
        angle = float(rng.uniform(-_MAX_ROTATION_DEG, _MAX_ROTATION_DEG))
        image, numbers = rotate_pair(image, numbers, angle)
        image, numbers = _crop(image, numbers, margin, margin, self.crop_px)
        # Scan noise is applied at the net's resolution, on the crop only (it is the costly part).
        image = photometric(image, rng)
        stride = self.config.output_stride
        cell_numbers = _downsample_target(numbers, stride)
        inputs = (1.0 - image.astype(np.float32) / 255.0)[..., None]
        if not self.config.box_head:
            return inputs, classes[cell_numbers]
        # The boxes follow the crop and the rotation (as axis-aligned bounds of their corners).
        corners = _box_corners(coords - np.array([left - margin, top - margin] * 2, np.float32))
        matrix = rotation_matrix((size, size), angle)
        moved = corners @ matrix[:, :2].T + matrix[:, 2]
        crop_coords = np.concatenate([moved.min(axis=1), moved.max(axis=1)], axis=-1) - margin
        extra = box_targets(
            cell_numbers, crop_coords, stride, self.config.kernel_shrink, self.config.box_scale_px
        )
        return inputs, np.concatenate([classes[cell_numbers][..., None].astype(np.float32), extra], axis=-1)

    def _crop_origin(
        self, page: PageSample, shape: tuple[int, ...], factor: float, rng: np.random.Generator
    ) -> tuple[int, int]:
        height, width = shape[:2]
        crop = self.crop_px
        if page.boxes and rng.random() < _FOCUS_SHARE:
            box: Box = page.boxes[int(rng.integers(len(page.boxes)))].box.scaled(factor)
            center_y = int(rng.integers(box.y0, box.y1)) + int(rng.integers(-crop // 3, crop // 3 + 1))
            center_x = int(rng.integers(box.x0, box.x1)) + int(rng.integers(-crop // 3, crop // 3 + 1))
        else:
            center_y, center_x = int(rng.integers(0, height)), int(rng.integers(0, width))
        top = min(max(center_y - crop // 2, 0), max(height - crop, 0))
        left = min(max(center_x - crop // 2, 0), max(width - crop, 0))
        return top, left

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.sample(rng) for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def page_sample(image: np.ndarray, boxes: list[LabelledBox], name: str) -> PageSample:
    """Keep a page (RGB or grey uint8, original pixels) for training."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    half = cv2.resize(grey, None, fx=_STORE_FACTOR, fy=_STORE_FACTOR, interpolation=cv2.INTER_AREA)
    return PageSample(half, (grey.shape[0], grey.shape[1]), boxes, name)


def detector_loss(config: DetectorConfig, class_weights: Sequence[float], box_loss: str = "l1") -> Any:
    """The training loss for `build_model(config)`'s outputs and `SampleSource`'s targets.

    Class cross-entropy; with the box head also the kernel's binary cross-entropy plus dice (few
    pixels are kernel pixels) and the mean absolute error of the log edge distances on kernel
    pixels, weighted by `BOX_LOSS_WEIGHT`. With `box_loss="iou"` the edge-distance term is instead
    -log IoU of the box each kernel pixel predicts against its labelled box (UnitBox): one loss
    for the whole box, where the L1 term treats its four edges apart.

    Raises:
        InputError: `box_loss` is not one of `options.BOX_LOSSES`.
    """
    import tensorflow as tf

    check_box_loss(box_loss)
    cross_entropy = weighted_cross_entropy(class_weights)
    classes = len(config.class_names)
    if not config.box_head:
        return cross_entropy
    edge_errors = _iou_loss if box_loss == "iou" else _log_l1_loss

    # Plain tensor maths without Python control flow: nothing for AutoGraph to convert.
    @tf.autograph.experimental.do_not_convert  # type: ignore[untyped-decorator]
    def loss(targets: Any, outputs: Any) -> Any:
        class_loss = cross_entropy(targets[..., 0], outputs[..., :classes])
        kernel = targets[..., 1]
        predicted = tf.clip_by_value(outputs[..., classes], 1e-6, 1.0 - 1e-6)
        bce = -tf.reduce_mean(kernel * tf.math.log(predicted) + (1.0 - kernel) * tf.math.log(1.0 - predicted))
        dice = (2.0 * tf.reduce_sum(kernel * predicted) + 1.0) / (
            tf.reduce_sum(kernel) + tf.reduce_sum(predicted) + 1.0
        )
        errors = edge_errors(outputs[..., classes + 1 :], targets[..., 2:])
        distance_loss = tf.reduce_sum(errors * kernel) / tf.maximum(tf.reduce_sum(kernel), 1.0)
        return class_loss + BOX_LOSS_WEIGHT * (bce + (1.0 - dice) + distance_loss)

    return loss


def _log_l1_loss(predicted: Any, target: Any) -> Any:
    """Per pixel: mean absolute error of the four log edge distances."""
    import tensorflow as tf

    return tf.reduce_mean(tf.abs(predicted - target), axis=-1)


def _iou_loss(predicted: Any, target: Any) -> Any:
    """Per pixel: -log IoU of the boxes that two sets of (left, top, right, bottom) log distances
    from that pixel describe. The scale of the distances cancels out of the IoU."""
    import tensorflow as tf

    # exp of far-off log distances would overflow; e^8 box scales is beyond any page.
    mine = tf.exp(tf.clip_by_value(tf.cast(predicted, tf.float32), -8.0, 8.0))
    theirs = tf.exp(tf.cast(target, tf.float32))
    left, top, right, bottom = tf.unstack(mine, axis=-1)
    t_left, t_top, t_right, t_bottom = tf.unstack(theirs, axis=-1)
    overlap = (tf.minimum(left, t_left) + tf.minimum(right, t_right)) * (
        tf.minimum(top, t_top) + tf.minimum(bottom, t_bottom)
    )
    union = (left + right) * (top + bottom) + (t_left + t_right) * (t_top + t_bottom) - overlap
    return -tf.math.log(tf.maximum(overlap / tf.maximum(union, 1e-6), 1e-6))


def weighted_cross_entropy(class_weights: Sequence[float]) -> Any:
    """Cross-entropy over (batch, h, w, classes) softmax outputs, weighted per true class."""
    import tensorflow as tf

    weights = tf.constant(list(class_weights), tf.float32)

    @tf.autograph.experimental.do_not_convert  # type: ignore[untyped-decorator]
    def loss(labels: Any, probabilities: Any) -> Any:
        labels = tf.cast(labels, tf.int32)
        picked = tf.reduce_sum(probabilities * tf.one_hot(labels, len(class_weights)), axis=-1)
        pixel_weights = tf.gather(weights, labels)
        nll = -tf.math.log(tf.clip_by_value(picked, 1e-7, 1.0))
        return tf.reduce_sum(nll * pixel_weights) / tf.reduce_sum(pixel_weights)

    return loss
