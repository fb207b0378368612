"""Training samples for the handwriting FCN: per-pixel class targets, crops, augmentation, loss.

A labelled page is kept grey at half resolution with its boxes in original pixels. A sample is a
random crop of the page after the detector's own `preprocess` (with a random scale), a small
rotation and scan-like photometric noise; its target is the filled boxes as a class map at the
net's output resolution (0 background, 1 signature, 2 annotation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from indexer.backends.tf_detector import DetectorConfig, preprocess
from indexer.document import Box, HandwritingKind
from indexer.training.augment import photometric, rotate_pair
from indexer.training.voc import LabelledBox

__all__ = ["CLASS_INDEX", "PageSample", "SampleSource", "rasterise", "weighted_cross_entropy"]

log = logging.getLogger(__name__)

CLASS_INDEX = {HandwritingKind.SIGNATURE: 1, HandwritingKind.ANNOTATION: 2}
_STORE_FACTOR = 0.5  # pages are kept at half resolution in memory
_MAX_ROTATION_DEG = 1.5
_SCALE_RANGE = (0.85, 1.15)
_FOCUS_SHARE = 0.5  # share of crops centred on a labelled box rather than anywhere


@dataclass(slots=True)
class PageSample:
    """A page held in memory for training: grey at half resolution, boxes in original pixels."""

    grey: np.ndarray  # (height/2, width/2) uint8
    original_size: tuple[int, int]  # (height, width)
    boxes: list[LabelledBox]
    name: str


def rasterise(boxes: Sequence[LabelledBox], shape: tuple[int, int], factor: float) -> np.ndarray:
    """Fill the boxes (scaled by `factor`) into a (height, width) uint8 class map.

    Annotations are painted first, so where boxes overlap the signature wins.
    """
    target = np.zeros(shape, np.uint8)
    order = sorted(boxes, key=lambda item: CLASS_INDEX[item.kind], reverse=True)
    for item in order:
        scaled = item.box.scaled(factor)
        target[scaled.y0 : scaled.y1, scaled.x0 : scaled.x1] = CLASS_INDEX[item.kind]
    return target


def _downsample_target(target: np.ndarray, stride: int) -> np.ndarray:
    """Class map at 1/stride: a cell takes the class at its centre.

    Taking any class present in the cell instead grew every labelled box by half a cell per side
    on average, and the net learnt to mark boxes that much too large.
    """
    height, width = target.shape[0] // stride, target.shape[1] // stride
    centre = stride // 2
    return np.ascontiguousarray(target[centre : height * stride : stride, centre : width * stride : stride])


def _crop(
    image: np.ndarray, target: np.ndarray, top: int, left: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """A size x size window at (top, left) that may reach outside (padded white / background)."""
    out_image = np.full((size, size), 255, np.uint8)
    out_target = np.zeros((size, size), np.uint8)
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

    def __init__(self, pages: Sequence[PageSample], config: DetectorConfig, *, crop_px: int) -> None:
        if not pages:
            raise ValueError("a sample source needs at least one page")
        self.pages = list(pages)
        self.config = config
        self.crop_px = crop_px

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One (crop, crop, 1) float32 input and its (crop/stride, crop/stride) uint8 target."""
        page = self.pages[int(rng.integers(len(self.pages)))]
        scale = float(rng.uniform(*_SCALE_RANGE))
        tensor, factor = preprocess(page.grey, self.config, scale=scale)
        # `factor` maps the half-resolution copy; boxes are in original pixels.
        box_factor = factor * _STORE_FACTOR
        image = np.asarray(np.round((1.0 - tensor[..., 0]) * 255.0), np.uint8)
        target = rasterise(page.boxes, image.shape, box_factor)
        top, left = self._crop_origin(page, image.shape, box_factor, rng)
        # Crop with a margin, rotate, then cut the final crop: cheaper than rotating the page.
        margin = self.crop_px // 8
        image, target = _crop(image, target, top - margin, left - margin, self.crop_px + 2 * margin)
        image, target = rotate_pair(image, target, float(rng.uniform(-_MAX_ROTATION_DEG, _MAX_ROTATION_DEG)))
        image, target = _crop(image, target, margin, margin, self.crop_px)
        # Scan noise is applied at the net's resolution, on the crop only (it is the costly part).
        image = photometric(image, rng)
        stride = self.config.output_stride
        return (1.0 - image.astype(np.float32) / 255.0)[..., None], _downsample_target(target, stride)

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


def weighted_cross_entropy(class_weights: Sequence[float]) -> Any:
    """Cross-entropy over (batch, h, w, classes) softmax outputs, weighted per true class."""
    import tensorflow as tf

    weights = tf.constant(list(class_weights), tf.float32)

    def loss(labels: Any, probabilities: Any) -> Any:
        labels = tf.cast(labels, tf.int32)
        picked = tf.reduce_sum(probabilities * tf.one_hot(labels, len(class_weights)), axis=-1)
        pixel_weights = tf.gather(weights, labels)
        nll = -tf.math.log(tf.clip_by_value(picked, 1e-7, 1.0))
        return tf.reduce_sum(nll * pixel_weights) / tf.reduce_sum(pixel_weights)

    return loss
