"""What decides a detector's training run, its refiner's and a calibration: each option's default
(written here only), its checks, and the command line that reproduces the run (for the model card).

Light on imports (no TensorFlow, OpenCV or NumPy), so the CLI reads its defaults from here and
`indexer --help` stays fast. The option classes are not slotted, so that `TrainOptions.steps` is
the default itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.errors import InputError
from indexer.model_dirs.detector import COMPUTE_DTYPES, DetectorConfig
from indexer.training.data.splits import VALIDATION_HOLD_OUT, HoldOut

if TYPE_CHECKING:
    from indexer.backends.detector.refiner import RefinerConfig

__all__ = [
    "BOX_LOSSES",
    "TRAINED_DESIGN",
    "CalibrationOptions",
    "Decoding",
    "DecodingGrid",
    "RefinerOptions",
    "TrainOptions",
    "check_box_loss",
    "network_design",
    "share_text",
]

#: The design trained unless told otherwise: the shipped model's (models/detector/MODEL_CARD.md).
#: `DetectorConfig`'s own defaults stay fcn-v1, which is what config files written before the
#: box head existed describe. Output stride 2, not 4, because its box edges fit the labels
#: better in cross-validation.
TRAINED_DESIGN = DetectorConfig(
    version="fcn-v2",
    stem="strided",
    box_head=True,
    output_stride=2,
    merge_share=0.5,
    class_overlap_share=0.5,
    test_scales=(0.9, 1.0, 1.1),
)
#: How the edge distances are trained: "l1" on each log distance, or "iou" of the whole box.
BOX_LOSSES = ("l1", "iou")


def check_box_loss(box_loss: str) -> None:
    """Raises InputError unless `box_loss` is one of `BOX_LOSSES`."""
    if box_loss not in BOX_LOSSES:
        raise InputError(f"the box loss must be one of {', '.join(BOX_LOSSES)}, not {box_loss!r}")


def network_design(
    *,
    stem: str = TRAINED_DESIGN.stem,
    box_head: bool = TRAINED_DESIGN.box_head,
    output_stride: int | None = None,
    short_side_px: int = TRAINED_DESIGN.short_side_px,
) -> DetectorConfig:
    """`TRAINED_DESIGN` with these choices: fcn-v2 with the box head, fcn-v1 without.

    Without a box head the output stride defaults to 2, not the trained design's: fcn-v1 draws its
    boxes at the output resolution.

    Raises:
        InputError: output stride 4 without the box head.
        ConfigError: a stem, stride or input size `DetectorConfig` does not know.
    """
    if output_stride is None:
        output_stride = TRAINED_DESIGN.output_stride if box_head else 2
    if output_stride != 2 and not box_head:
        raise InputError(
            "--output-stride 4 needs --box-head: fcn-v1 boxes are drawn at the output resolution"
        )
    return replace(
        TRAINED_DESIGN,
        stem=stem,
        box_head=box_head,
        output_stride=output_stride,
        version="fcn-v2" if box_head else "fcn-v1",
        short_side_px=short_side_px,
    )


def _repeated(flag: str, values: Sequence[object]) -> list[str]:
    """`flag value` once per value, for a command line that repeats an option."""
    return [word for value in values for word in (flag, str(value))]


@dataclass
class TrainOptions:
    """Everything that decides a training run (and is written into the model card).

    Raises (on construction):
        InputError: an unknown compute dtype or box loss, an EMA momentum outside (0, 1), or a
            crop the net cannot take.
    """

    data_dirs: list[Path]
    out_dir: Path
    steps: int = 3000
    batch_size: int = 8
    crop_px: int = 320
    #: Each training crop's page is scaled by a factor drawn uniformly from this range.
    scale_range: tuple[float, float] = (0.85, 1.15)
    synthetic_pages: int = 120
    synthetic_share: float = 0.35
    #: Share of real-page crops whose page first gets 1-4 handwriting boxes cut from other
    #: training pages (`indexer.training.data.paste`); 0 turns copy-paste off.
    paste_share: float = 0.0
    learning_rate: float = 3e-3
    seed: int = 1234
    #: With the refiner's 5 minutes, detector and refiner train within 20 minutes even on a machine
    #: too slow to reach their step counts.
    max_minutes: float = 13.0
    threads: int = 2
    #: "float32", or "bfloat16" for bfloat16 maths on float32 weights (`build_model`).
    compute_dtype: str = "bfloat16"
    #: Keep an exponential moving average of the weights with this momentum and save it instead
    #: of the last weights (None: the last weights).
    ema_momentum: float | None = None
    #: The edge-distance loss: "l1" (each log distance) or "iou" (the whole box; `detector_loss`).
    box_loss: str = "l1"
    #: Nets to train, one after another with seeds `seed`, `seed + 1`, ..., each for `steps` steps
    #: and an equal share of `max_minutes`; the model averages their outputs (`member_weights`).
    members: int = 1
    #: The documents never trained on (and scored in the card).
    hold_out: HoldOut = VALIDATION_HOLD_OUT
    config: DetectorConfig = TRAINED_DESIGN

    def __post_init__(self) -> None:
        if self.compute_dtype not in COMPUTE_DTYPES:
            choices = ", ".join(COMPUTE_DTYPES)
            raise InputError(f"the compute dtype must be one of {choices}, not {self.compute_dtype!r}")
        if self.ema_momentum is not None and not 0.0 < self.ema_momentum < 1.0:
            raise InputError(
                f"the EMA momentum must lie between 0 and 1 (e.g. 0.995), not {self.ema_momentum}"
            )
        check_box_loss(self.box_loss)
        if self.members < 1:
            raise InputError(f"the number of member nets must be at least 1, not {self.members}")
        low, high = self.scale_range
        if not 0.0 < low <= high:
            raise InputError(
                f"the scale range must be two factors with 0 < low <= high (e.g. 0.85 1.15), not {low} {high}"
            )
        if not 0.0 <= self.paste_share <= 1.0:
            raise InputError(f"the paste share must lie between 0 and 1 (e.g. 0.5), not {self.paste_share}")
        multiple = self.config.pad_multiple_px
        if self.crop_px <= 0 or self.crop_px % multiple:
            raise InputError(f"the crop must be a positive multiple of {multiple} px, not {self.crop_px}")

    def to_argv(self) -> list[str]:
        """`indexer train-detector` with every flag spelled out, so the card's command reproduces
        this run even after a default changes. The learning rate, the synthetic share and the
        threads (`detector.threads`) have no flag."""
        design = self.config
        words = ["indexer", "train-detector", *_repeated("--data", self.data_dirs)]
        words += ["--out", str(self.out_dir), "--steps", str(self.steps)]
        words += ["--batch-size", str(self.batch_size), "--synthetic-pages", str(self.synthetic_pages)]
        words += ["--max-minutes", f"{self.max_minutes:g}"]
        words += ["--seed", str(self.seed), "--stem", design.stem]
        words += ["--box-head" if design.box_head else "--no-box-head"]
        words += ["--output-stride", str(design.output_stride), "--compute-dtype", self.compute_dtype]
        words += ["--short-side", str(design.short_side_px), "--crop", str(self.crop_px)]
        if self.scale_range != TrainOptions.scale_range:
            words += ["--scale-range", *(f"{factor:g}" for factor in self.scale_range)]
        if self.paste_share != TrainOptions.paste_share:
            words += ["--paste-share", f"{self.paste_share:g}"]
        if self.ema_momentum is not None:
            words += ["--ema-momentum", f"{self.ema_momentum:g}"]
        if self.box_loss != TrainOptions.box_loss:
            words += ["--box-loss", self.box_loss]
        if self.members != TrainOptions.members:
            words += ["--members", str(self.members)]
        return [*words, "--hold-out", str(self.hold_out)]


def _refiner_config() -> RefinerConfig:
    # Imported when an options object is built, not with this module: it loads OpenCV.
    from indexer.backends.detector.refiner import RefinerConfig

    return RefinerConfig()


@dataclass
class RefinerOptions:
    """Everything that decides a refiner's training run."""

    model_dir: Path
    data_dirs: list[Path]
    steps: int = 1500
    batch_size: int = 64
    #: Jittered cuts drawn once before training (uint8, 16 KB each).
    samples: int = 24000
    learning_rate: float = 2e-3
    warmup_steps: int = 100
    #: Each edge moves by a normal draw with this standard deviation: the share of the box's width
    #: (left, right) or height (top, bottom) plus a few pixels. The detector's edges are off by
    #: about 3% of a signature's width and 8% of its height (median absolute error); the jitter
    #: is wider so that the refiner also learns to pull in badly placed edges.
    jitter_x: float = 0.07
    jitter_y: float = 0.15
    jitter_x_px: float = 4.0
    jitter_y_px: float = 3.0
    seed: int = 1
    max_minutes: float = 5.0
    threads: int = 2
    config: RefinerConfig = field(default_factory=_refiner_config)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.samples < self.batch_size:
            raise InputError("the refiner needs at least one step and at least one batch of samples")

    def to_argv(self) -> list[str]:
        """`indexer train-refiner` with every flag spelled out (for the card)."""
        words = ["indexer", "train-refiner", "--model", str(self.model_dir)]
        words += [*_repeated("--data", self.data_dirs), "--steps", str(self.steps)]
        words += ["--max-minutes", f"{self.max_minutes:g}", "--seed", str(self.seed)]
        return [*words, "--samples", str(self.samples)]


def share_text(share: float | None) -> str:
    """A share as a table cell or CLI value: "none" when the rule is off."""
    return "none" if share is None else f"{share:g}"


@dataclass(frozen=True, slots=True)
class Decoding:
    """One combination of the decoding settings (`DetectorConfig` fields of the same names);
    the defaults are the net's plain decoding."""

    annotation_prior: float = 1.0
    test_scales: tuple[float, ...] = (1.0,)
    class_overlap_share: float | None = None
    merge_share: float | None = None

    def applied_to(self, config: DetectorConfig) -> DetectorConfig:
        return replace(config, **asdict(self))

    def change(self) -> tuple[float, int, bool, bool]:
        """How far this is from the plain decoding, to break ties towards the smallest change."""
        return (
            abs(self.annotation_prior - 1.0),
            len(self.test_scales),
            self.class_overlap_share is not None,
            self.merge_share is not None,
        )

    def cells(self) -> list[str]:
        """The settings as table cells, in field order."""
        return [
            f"{self.annotation_prior:g}",
            "/".join(f"{scale:g}" for scale in self.test_scales),
            share_text(self.class_overlap_share),
            share_text(self.merge_share),
        ]

    def record(self) -> dict[str, object]:
        """The settings as JSON values, keyed as in `detector.json`."""
        return {**asdict(self), "test_scales": list(self.test_scales)}


@dataclass(frozen=True, slots=True)
class DecodingGrid:
    """The values tried per setting; every combination of them is scored.

    The two shares default to 0.5 alone: they exist for the pipeline (overlapping boxes would get
    overlapping anchor tokens), so turning them off is not a choice to make on the pixel metric.
    """

    priors: tuple[float, ...] = (1.0, 1.25, 1.5, 2.0, 3.0)
    test_scales: tuple[tuple[float, ...], ...] = ((1.0,), (0.9, 1.0, 1.1))
    class_overlap_shares: tuple[float | None, ...] = (0.5,)
    merge_shares: tuple[float | None, ...] = (0.5,)

    def combinations(self) -> list[Decoding]:
        """Every combination, and the plain decoding (the baseline) even when the grid lacks it."""
        found = [
            Decoding(prior, scales, overlap, merge)
            for prior, scales, overlap, merge in itertools.product(
                self.priors, self.test_scales, self.class_overlap_shares, self.merge_shares
            )
        ]
        return list(dict.fromkeys([Decoding(), *found]))

    @classmethod
    def from_flags(
        cls,
        *,
        priors: Sequence[float] = (),
        test_scales: Sequence[str] = (),
        class_overlap_shares: Sequence[str] = (),
        merge_shares: Sequence[str] = (),
    ) -> DecodingGrid:
        """The grid `calibrate-detector`'s flags give: scales as "0.9,1,1.1", shares as numbers or
        "none"; a flag not given keeps the default values.

        Raises:
            InputError: a scale or share that is not a number (nor "none").
        """
        default = cls()
        return cls(
            priors=tuple(priors) or default.priors,
            test_scales=tuple(map(_scales, test_scales)) or default.test_scales,
            class_overlap_shares=tuple(map(_share, class_overlap_shares)) or default.class_overlap_shares,
            merge_shares=tuple(map(_share, merge_shares)) or default.merge_shares,
        )

    def to_argv(self) -> list[str]:
        """The grid as `calibrate-detector` flags."""
        return [
            *_repeated("--prior", [f"{value:g}" for value in self.priors]),
            *_repeated("--test-scales", [",".join(f"{s:g}" for s in scales) for scales in self.test_scales]),
            *_repeated("--class-overlap-share", [share_text(value) for value in self.class_overlap_shares]),
            *_repeated("--merge-share", [share_text(value) for value in self.merge_shares]),
        ]


def _scales(text: str) -> tuple[float, ...]:
    """'0.9,1,1.1' as scales; the detector config checks their range."""
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(
            f"test scales are numbers separated by commas, e.g. 0.9,1,1.1, not {text!r}"
        ) from None


def _share(text: str) -> float | None:
    """'none' or a number; the detector config checks that it lies in (0, 1]."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"a share is a number in (0, 1] or none, not {text!r}") from None


@dataclass(frozen=True, slots=True)
class CalibrationOptions:
    """A calibration run: the fold models, their labelled pages, the grid, and the models trained
    on every document that get the pooled choice."""

    data_dirs: list[Path]
    model_dirs: list[Path]
    apply_to: list[Path] = field(default_factory=list)
    grid: DecodingGrid = DecodingGrid()

    def to_argv(self) -> list[str]:
        """`indexer calibrate-detector` with every flag spelled out (for the card)."""
        return [
            "indexer",
            "calibrate-detector",
            *_repeated("--data", self.data_dirs),
            *_repeated("--model", self.model_dirs),
            *_repeated("--apply-to", self.apply_to),
            *self.grid.to_argv(),
        ]
