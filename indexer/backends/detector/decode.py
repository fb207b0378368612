"""From the FCN's outputs to boxes: kernel regions, scale fusion and the two overlap rules."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from indexer.backends.base import Detection
from indexer.document import Box, HandwritingKind
from indexer.model_dirs.detector import DetectorConfig

__all__ = ["decode", "drop_other_class_overlaps", "fuse_scales", "merge_overlapping"]

log = logging.getLogger(__name__)

_KINDS = (HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION)


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
