"""Adapter for TensorFlow Object Detection API SavedModels (a Faster R-CNN like the seed paper's).

The SavedModel takes a (1, H, W, 3) uint8 image and returns `detection_boxes` (normalised
[ymin, xmin, ymax, xmax]), `detection_classes` (class ids, as floats) and `detection_scores`.
Class ids map to kinds by configuration; other ids are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from indexer.backends.base import Detection
from indexer.backends.tf_runtime import load_tensorflow
from indexer.document import Box, HandwritingKind
from indexer.errors import BackendError, DependencyError, InputError

__all__ = ["TfodBoxDetector"]

log = logging.getLogger(__name__)

_SIGNATURE_KEY = "serving_default"


class TfodBoxDetector:
    """Runs a TFOD SavedModel and returns its boxes in the page's pixels.

    Raises (from `__init__`):
        DependencyError: the SavedModel folder is missing or TensorFlow cannot load it.
    """

    name = "tfod"

    def __init__(
        self,
        saved_model: Path,
        *,
        class_ids: Mapping[int, str],
        score_threshold: float = 0.5,
        threads: int = 2,
    ) -> None:
        if not (saved_model / "saved_model.pb").is_file():
            raise DependencyError(
                f"no TFOD SavedModel at {saved_model}; "
                "set detector.tfod_saved_model to an exported model folder"
            )
        tf = load_tensorflow(threads=threads)
        try:
            loaded = tf.saved_model.load(str(saved_model))
        except Exception as exc:  # TensorFlow raises many unrelated types on a bad model
            raise DependencyError(f"cannot load the TFOD SavedModel {saved_model}: {exc}") from exc
        self._model = loaded
        self._serve = (
            loaded.signatures.get(_SIGNATURE_KEY, loaded) if hasattr(loaded, "signatures") else loaded
        )
        self._tf = tf
        self.class_ids = {int(key): HandwritingKind(value) for key, value in class_ids.items()}
        self.score_threshold = score_threshold
        self.version = saved_model.name

    def _run(self, image: np.ndarray) -> dict[str, np.ndarray]:
        tensor = self._tf.convert_to_tensor(image[None], dtype=self._tf.uint8)
        try:
            outputs: Any = self._serve(input_tensor=tensor)
        except TypeError:
            outputs = self._serve(tensor)
        except Exception as exc:  # TensorFlow raises many unrelated types
            raise BackendError(f"inference failed: {exc}", engine=self.name) from exc
        return {key: np.asarray(value)[0] for key, value in outputs.items()}

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Boxes of the configured classes scoring at least the threshold, in page pixels."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"expected a (height, width, 3) uint8 page, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        outputs = self._run(image)
        detections = []
        for coords, class_id, score in zip(
            outputs["detection_boxes"], outputs["detection_classes"], outputs["detection_scores"], strict=True
        ):
            kind = self.class_ids.get(round(float(class_id)))
            if kind is None or float(score) < self.score_threshold:
                continue
            y0, x0, y1, x1 = (float(v) for v in np.clip(coords, 0.0, 1.0))
            left, top = min(int(x0 * width), width - 1), min(int(y0 * height), height - 1)
            box = Box(left, top, max(round(x1 * width), left + 1), max(round(y1 * height), top + 1))
            detections.append(Detection(kind, box, min(max(float(score), 0.0), 1.0)))
        return detections
