"""A detector model folder's `detector.json`: what the weights were trained with, read at load time.

Training (`indexer.training.detector.train`) writes it; the backend (`indexer.backends.detector`)
and the CLI read it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from indexer.document import HandwritingKind
from indexer.errors import ConfigError, DependencyError

__all__ = [
    "CLASS_NAMES",
    "COMPUTE_DTYPES",
    "CONFIG_FILE",
    "OUTPUT_STRIDES",
    "STEMS",
    "DetectorConfig",
    "load_detector_dir",
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
    # `indexer.training.detector.options.TRAINED_DESIGN`.
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
            raise ConfigError(f"detector stem must be one of {', '.join(STEMS)}, not {self.stem!r}")
        if self.output_stride not in OUTPUT_STRIDES:
            choices = ", ".join(map(str, OUTPUT_STRIDES))
            raise ConfigError(f"detector output stride must be one of {choices}, not {self.output_stride}")
        for name in ("merge_share", "class_overlap_share"):
            share = getattr(self, name)
            if share is not None and not 0.0 < share <= 1.0:
                raise ConfigError(f"detector {name} must lie in (0, 1] or be null, not {share}")
        if self.short_side_px < 64:
            raise ConfigError(f"detector short_side_px must be at least 64, not {self.short_side_px}")
        if not self.annotation_prior > 0:
            raise ConfigError(f"detector annotation_prior must be positive, not {self.annotation_prior}")
        if self.annotation_prior != 1.0 and not self.box_head:
            raise ConfigError(
                "detector annotation_prior only applies to the box head (fcn-v2); leave it at 1"
            )
        if not self.test_scales or not all(0.25 <= scale <= 4.0 for scale in self.test_scales):
            raise ConfigError(
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


def load_detector_dir(model_dir: Path) -> tuple[DetectorConfig, list[Path]]:
    """A detector folder's config and the weight files of its nets, all checked to be there.

    Raises:
        DependencyError: the config or a weight file is missing.
    """
    config_path = model_dir / CONFIG_FILE
    if not config_path.is_file():
        raise DependencyError(
            f"detector config {config_path} is missing; set INDEXER_DETECTOR__MODEL_DIR to a model "
            "folder or train one with `indexer train-detector`"
        )
    config = DetectorConfig.load(config_path)
    weights = [model_dir / name for name in (config.weights, *config.member_weights)]
    for path in weights:
        if not path.is_file():
            raise DependencyError(
                f"detector weights {path} are missing; retrain with `indexer train-detector`"
            )
    return config, weights
