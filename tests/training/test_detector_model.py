from __future__ import annotations

import numpy as np

from indexer.backends.tf_detector import DetectorConfig, preprocess
from indexer.document import Box, HandwritingKind
from indexer.training.detector_model import SampleSource, _downsample_target, page_sample, rasterise
from indexer.training.voc import LabelledBox


def test_rasterise_paints_signatures_over_annotations() -> None:
    boxes = [
        LabelledBox(HandwritingKind.SIGNATURE, Box(0, 0, 4, 4)),
        LabelledBox(HandwritingKind.ANNOTATION, Box(2, 2, 8, 6)),
    ]
    target = rasterise(boxes, (10, 10), 1.0)
    assert target[1, 1] == 1 and target[3, 3] == 1 and target[5, 7] == 2 and target[9, 9] == 0


def test_targets_take_the_class_at_each_cell_centre() -> None:
    """A box edge inside a cell must not grow the box by that cell (the net would learn to mark
    every box half a cell too large per side)."""
    target = np.zeros((8, 8), np.uint8)
    target[3:6, 2:7] = 2  # rows 3-5, columns 2-6
    small = _downsample_target(target, 2)  # cell centres at 1, 3, 5, 7
    assert small.shape == (4, 4)
    assert small.tolist() == [[0, 0, 0, 0], [0, 2, 2, 0], [0, 2, 2, 0], [0, 0, 0, 0]]


def test_preprocess_scales_the_short_side_and_pads() -> None:
    config = DetectorConfig(short_side_px=576, pad_multiple_px=16)
    tensor, factor = preprocess(np.full((2200, 1700, 3), 255, np.uint8), config)
    assert factor == 576 / 1700
    assert tensor.shape == (752, 576, 1) and tensor.dtype == np.float32 and tensor.max() == 0.0


def test_samples_have_the_crop_shape_and_valid_classes() -> None:
    image = np.full((400, 300, 3), 255, np.uint8)
    image[100:140, 50:250] = 0
    boxes = [LabelledBox(HandwritingKind.ANNOTATION, Box(50, 100, 250, 140))]
    source = SampleSource([page_sample(image, boxes, "p")], DetectorConfig(short_side_px=150), crop_px=64)
    images, labels = source.batch(np.random.default_rng(0), 4)
    assert images.shape == (4, 64, 64, 1) and images.dtype == np.float32
    assert labels.shape == (4, 32, 32) and set(np.unique(labels)) <= {0, 2}
    assert images.min() >= 0.0 and images.max() <= 1.0
