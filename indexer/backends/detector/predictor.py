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
(`indexer.backends.detector.refiner`), named in the config, may then move each box's edges. Without
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
averaging them is the usual way to steady that. The shipped model is one net, because within
the training budget the steps one net gets count for more than averaging (docs/experiments/).

Training (`indexer.training.detector.train`) uses the same `preprocess` and `build_model`, and
writes the JSON config this module reads at load time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.backends.base import Detection
from indexer.backends.detector.decode import decode, fuse_scales
from indexer.backends.detector.net import build_model, preprocess, resize_factor
from indexer.backends.detector.refiner import BoxRefiner
from indexer.backends.tf_runtime import load_tensorflow
from indexer.document import HandwritingMap
from indexer.errors import BackendError, DependencyError, InputError
from indexer.model_dirs.detector import DetectorConfig, load_detector_dir

__all__ = ["PageReading", "TfBoxDetector"]

log = logging.getLogger(__name__)


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
        config, weights = load_detector_dir(model_dir)
        if score_threshold is not None:
            overrides = {"score_threshold": score_threshold, "annotation_threshold": None}
            config = DetectorConfig(**{**asdict(config), **overrides})
        self.config = config
        self.version = config.version
        self._predict = _load_predictor(weights, config, threads)
        self.refiner = BoxRefiner(model_dir, config.refiner) if config.refiner and use_refiner else None

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
        base_factor = resize_factor(image.shape, self.config)
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

    def detect_with_map(self, image: np.ndarray) -> tuple[list[Detection], HandwritingMap]:
        """`detect`'s boxes and the net's handwriting probability (either class) on its grid."""
        reading = self.read(image)
        probability = 1.0 - reading.outputs[..., 0]
        return self.boxes(reading), HandwritingMap(probability, self.config.output_stride / reading.factor)

    def second_look(self, image: np.ndarray, *, scale: float) -> list[Detection]:
        """The boxes of one more reading of the page, at `scale` alone.

        The net misses neat, print-like writing at the page's usual size (it trains on pages
        scaled by 0.85-1.15) and sees it larger, where it also calls some print handwriting; so
        `DetectHandwriting` takes these boxes only as candidates and as a second opinion.
        """
        return self.boxes(self.read(image, (scale,)))

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
