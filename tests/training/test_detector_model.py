from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from indexer.backends.detector.decode import decode
from indexer.backends.detector.net import preprocess
from indexer.document import Box, HandwritingKind
from indexer.errors import InputError
from indexer.model_dirs.detector import DetectorConfig
from indexer.training.data.voc import LabelledBox
from indexer.training.detector.targets import (
    BOX_LOSS_WEIGHT,
    SampleSource,
    _downsample_target,
    _iou_loss,
    box_targets,
    detector_loss,
    page_sample,
    paint_instances,
)

#: The fcn-v2 design: kernels and edge distances besides the classes.
BOX_HEAD = DetectorConfig(version="fcn-v2", stem="strided", box_head=True)


def test_painting_puts_signatures_over_annotations() -> None:
    boxes = [
        LabelledBox(HandwritingKind.SIGNATURE, Box(0, 0, 4, 4)),
        LabelledBox(HandwritingKind.ANNOTATION, Box(2, 2, 8, 6)),
    ]
    numbers, _, classes = paint_instances(boxes, (10, 10), 1.0)
    target = classes[numbers]
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
    config = DetectorConfig(short_side_px=150)
    source = SampleSource([page_sample(image, boxes, "p")], config, crop_px=64)
    images, labels = source.batch(np.random.default_rng(0), 4)
    assert images.shape == (4, 64, 64, 1) and images.dtype == np.float32
    assert labels.shape == (4, 32, 32) and set(np.unique(labels)) <= {0, 2}
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_box_head_samples_carry_kernels_inside_their_boxes() -> None:
    image = np.full((400, 300, 3), 255, np.uint8)
    boxes = [LabelledBox(HandwritingKind.SIGNATURE, Box(50, 100, 250, 180))]
    config = replace(BOX_HEAD, short_side_px=150)
    source = SampleSource([page_sample(image, boxes, "p")], config, crop_px=64)
    _, targets = source.batch(np.random.default_rng(0), 8)
    assert targets.shape == (8, 32, 32, 6) and targets.dtype == np.float32
    classes, kernel = targets[..., 0], targets[..., 1]
    assert set(np.unique(classes)) <= {0.0, 1.0} and set(np.unique(kernel)) <= {0.0, 1.0}
    assert kernel.any() and not (kernel.astype(bool) & (classes == 0)).any()
    assert not targets[..., 2:][kernel == 0].any()  # distances only where they are learnt


@pytest.mark.parametrize("stride", [2, 4])
def test_perfect_outputs_decode_back_to_the_labelled_boxes(stride: int) -> None:
    """Targets and decoder agree: feeding the targets of a page back as the net's outputs gives
    the labelled boxes, including two fields that touch and a signature over an annotation, at
    either output resolution."""
    boxes = [
        LabelledBox(HandwritingKind.ANNOTATION, Box(40, 40, 200, 80)),
        LabelledBox(HandwritingKind.ANNOTATION, Box(200, 40, 320, 80)),  # touches the first
        LabelledBox(HandwritingKind.SIGNATURE, Box(60, 160, 300, 260)),
        LabelledBox(HandwritingKind.ANNOTATION, Box(200, 240, 360, 280)),  # under the signature
    ]
    config = replace(BOX_HEAD, output_stride=stride)
    numbers, coords, classes = paint_instances(boxes, (400, 400), 1.0)
    cells = _downsample_target(numbers, config.output_stride)
    targets = box_targets(cells, coords, config.output_stride, config.kernel_shrink, config.box_scale_px)
    outputs = np.zeros((*cells.shape, config.output_channels), np.float32)
    outputs[..., :3] = np.eye(3)[classes[cells]]
    outputs[..., 3:] = targets
    found = {(f.kind, f.box.as_tuple()) for f in decode(outputs, 1.0, (400, 400), config)}
    assert found == {(item.kind, item.box.as_tuple()) for item in boxes}


@pytest.mark.parametrize(
    ("box_loss", "doubled"),
    # Every edge twice as far: each log distance is off by log 2 (L1), the box has 4 times the
    # labelled area around it (IoU 1/4, -log IoU = 2 log 2).
    [("l1", np.log(2.0)), ("iou", 2 * np.log(2.0))],
)
def test_loss_is_near_zero_for_perfect_outputs_and_grows_with_wrong_edges(
    box_loss: str, doubled: float
) -> None:
    config = BOX_HEAD
    boxes = [LabelledBox(HandwritingKind.ANNOTATION, Box(8, 8, 56, 40))]
    numbers, coords, classes = paint_instances(boxes, (64, 64), 1.0)
    cells = _downsample_target(numbers, 2)
    extra = box_targets(cells, coords, 2, config.kernel_shrink, config.box_scale_px)
    targets = np.concatenate([classes[cells][..., None].astype(np.float32), extra], -1)[None]
    perfect = np.zeros((1, 32, 32, config.output_channels), np.float32)
    perfect[..., :3] = np.eye(3)[classes[cells]]
    perfect[..., 3:] = extra
    loss = detector_loss(config, (1.0, 1.0, 1.0), box_loss)
    assert float(loss(targets, perfect)) == pytest.approx(0.0, abs=1e-4)
    wrong = perfect.copy()
    wrong[..., 4:] += np.log(2.0) * extra[..., :1]  # every kernel pixel sees its box twice as far
    assert float(loss(targets, wrong)) == pytest.approx(BOX_LOSS_WEIGHT * doubled, abs=1e-3)


def test_the_iou_loss_is_minus_the_log_of_the_two_boxes_iou() -> None:
    target = np.log(np.array([[4.0, 2.0, 4.0, 2.0]], np.float32))  # x -4..4, y -2..2 around the pixel
    shifted = np.log(np.array([[2.0, 2.0, 6.0, 2.0]], np.float32))  # x -2..6: overlap 6 of union 10
    grown = np.log(np.array([[8.0, 3.0, 8.0, 3.0]], np.float32))  # 16 x 6 around the 8 x 4 box
    assert float(_iou_loss(target, target)[0]) == pytest.approx(0.0, abs=1e-6)
    assert float(_iou_loss(shifted, target)[0]) == pytest.approx(-np.log(0.6), abs=1e-5)
    assert float(_iou_loss(grown, target)[0]) == pytest.approx(-np.log(32 / 96), abs=1e-5)


def test_an_unknown_box_loss_is_refused() -> None:
    with pytest.raises(InputError, match="l1, iou"):
        detector_loss(BOX_HEAD, (1.0, 1.0, 1.0), "giou")
