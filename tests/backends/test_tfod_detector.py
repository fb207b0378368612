from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.backends.base import BoxDetector
from indexer.backends.detector.tfod import TfodBoxDetector
from indexer.document import Box, HandwritingKind
from indexer.errors import DependencyError


@pytest.fixture(scope="module")
def tiny_saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SavedModel with the TFOD API's serving signature and fixed detections."""
    import tensorflow as tf

    class _Fixed(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((1, None, None, 3), tf.uint8, name="input_tensor")])
        def serve(self, input_tensor: tf.Tensor) -> dict[str, tf.Tensor]:
            batch = tf.shape(input_tensor)[0]
            boxes = tf.constant(
                [[[0.1, 0.2, 0.3, 0.6], [0.5, 0.5, 1.2, 0.9], [0.0, 0.0, 0.1, 0.1]]], tf.float32
            )
            return {
                "detection_boxes": tf.tile(boxes, [batch, 1, 1]),
                "detection_classes": tf.tile(tf.constant([[1.0, 2.0, 7.0]]), [batch, 1]),
                "detection_scores": tf.tile(tf.constant([[0.9, 0.6, 0.95]]), [batch, 1]),
                "num_detections": tf.fill([batch], 3.0),
            }

    module = _Fixed()
    folder = tmp_path_factory.mktemp("tfod") / "saved_model"
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return folder


def test_tfod_boxes_become_page_pixels_with_mapped_classes(tiny_saved_model: Path) -> None:
    """GIVEN normalised [ymin, xmin, ymax, xmax] boxes, class ids 1, 2 and an unmapped 7
    THEN ids 1/2 map to signature/annotation in pixels, clipped to the page, and 7 is dropped."""
    detector = TfodBoxDetector(
        tiny_saved_model, class_ids={1: "signature", 2: "annotation"}, score_threshold=0.5
    )
    assert isinstance(detector, BoxDetector)
    found = detector.detect(np.zeros((200, 100, 3), np.uint8))
    assert [(d.kind, d.box) for d in found] == [
        (HandwritingKind.SIGNATURE, Box(20, 20, 60, 60)),
        (HandwritingKind.ANNOTATION, Box(50, 100, 90, 200)),
    ]
    assert [d.score for d in found] == pytest.approx([0.9, 0.6])


def test_tfod_threshold_and_missing_model(tiny_saved_model: Path, tmp_path: Path) -> None:
    detector = TfodBoxDetector(tiny_saved_model, class_ids={1: "signature"}, score_threshold=0.95)
    assert detector.detect(np.zeros((50, 50, 3), np.uint8)) == []
    with pytest.raises(DependencyError, match="tfod_saved_model"):
        TfodBoxDetector(tmp_path, class_ids={})
