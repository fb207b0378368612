"""Handwriting detector commands: `detect`, `train-detector` and `evaluate` (thin over the library)."""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from indexer.cli.common import handle_errors, settings
from indexer.errors import InputError
from indexer.logs import progress

if TYPE_CHECKING:
    from indexer.backends.base import BoxDetector
    from indexer.config import DetectorSettings
    from indexer.training.detector.train import TrainOptions

__all__ = ["BUILT", "register"]

log = logging.getLogger(__name__)

#: Names of the commands this module builds (they replace the pending placeholders).
BUILT: frozenset[str] = frozenset(
    {"detect", "train-detector", "train-refiner", "calibrate-detector", "evaluate"}
)


#: `evaluate --split` choices.
SPLITS = ("validation", "train", "all", "held-out")

#: `--model` of `detect`.
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="A detector folder (weights + detector.json), e.g. one train-detector wrote. "
        "Default: detector.model_dir, the shipped model.",
    ),
]


def _detector_settings(model: Path | None, *, use_refiner: bool = True) -> DetectorSettings:
    """The configured detector, or our FCN from `model` when one is given."""
    config = settings().detector
    if not use_refiner:
        config = config.model_copy(update={"use_refiner": False})
    return config if model is None else config.model_copy(update={"engine": "fcn", "model_dir": model})


def _repeated(flag: str, values: Sequence[object]) -> list[str]:
    """`flag value` once per value, for a command line that repeats an option."""
    return [word for value in values for word in (flag, str(value))]


def _progress_callback(bar: Any) -> Any:
    tasks: dict[str, Any] = {}

    def on_progress(stage: str, done: int, total: int, message: str) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, description=f"{stage} {message}".strip())

    return on_progress


@handle_errors
def detect(
    images: Annotated[list[Path], typer.Argument(help="Page images (JPEG, PNG, TIFF).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line and image.")] = False,
    viz: Annotated[Path | None, typer.Option("--viz", help="Write each page with its boxes here.")] = None,
    model: ModelOption = None,
) -> None:
    """Find handwriting (signatures and annotations) on page images."""
    from indexer.api import build_detector, managed
    from indexer.images import draw_boxes, read_rgb

    with managed(build_detector(_detector_settings(model))) as detector:
        for path in images:
            image = read_rgb(path)
            detections = detector.detect(image)
            if viz is not None:
                draw_boxes(image, detections, viz / f"{path.stem}.png")
            record = {
                "image": str(path),
                "width": int(image.shape[1]),
                "height": int(image.shape[0]),
                "boxes": [
                    {"label": str(d.kind), "score": round(d.score, 4), **_box_dict(d.box.as_tuple())}
                    for d in detections
                ],
            }
            typer.echo(json.dumps(record) if as_json else _table(record))


def _box_dict(coords: tuple[int, int, int, int]) -> dict[str, int]:
    return dict(zip(("x0", "y0", "x1", "y1"), coords, strict=True))


def _table(record: dict[str, Any]) -> str:
    rows = [f"{record['image']} ({record['width']}x{record['height']}): {len(record['boxes'])} boxes"]
    rows.append(f"  {'label':<10} {'score':>5}  {'x0':>5} {'y0':>5} {'x1':>5} {'y1':>5}")
    rows.extend(
        f"  {b['label']:<10} {b['score']:>5.2f}  {b['x0']:>5} {b['y0']:>5} {b['x1']:>5} {b['y1']:>5}"
        for b in record["boxes"]
    )
    return "\n".join(rows)


def _command_line(options: TrainOptions) -> str:
    """The full command that reproduces this run, with every option spelled out (for the card)."""
    design = options.config
    words = ["indexer", "train-detector", *_repeated("--data", options.data_dirs)]
    words += [
        "--out",
        str(options.out_dir),
        "--steps",
        str(options.steps),
        "--batch-size",
        str(options.batch_size),
        "--synthetic-pages",
        str(options.synthetic_pages),
        "--max-minutes",
        f"{options.max_minutes:g}",
        "--seed",
        str(options.seed),
        "--stem",
        design.stem,
        "--box-head" if design.box_head else "--no-box-head",
        "--output-stride",
        str(design.output_stride),
        "--compute-dtype",
        options.compute_dtype,
        "--short-side",
        str(design.short_side_px),
        "--crop",
        str(options.crop_px),
    ]
    if options.ema_momentum is not None:
        words += ["--ema-momentum", f"{options.ema_momentum:g}"]
    if options.box_loss != "l1":
        words += ["--box-loss", options.box_loss]
    if options.members != 1:
        words += ["--members", str(options.members)]
    words += ["--hold-out", str(options.hold_out)]
    return shlex.join(words)


@handle_errors
def train_detector(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled folder (VOC XML / VoTT JSON).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the weights and model card.")],
    steps: Annotated[int, typer.Option(help="Optimiser steps (or until --max-minutes).")] = 3000,
    batch_size: Annotated[int, typer.Option(help="Crops per step.")] = 8,
    synthetic_pages: Annotated[int, typer.Option(help="Synthetic pages to mix in.")] = 120,
    max_minutes: Annotated[
        float,
        typer.Option(help="Stop the training loop after this long (loading and saving add about 40 s)."),
    ] = 13.0,
    seed: Annotated[int, typer.Option(help="Seed for every random choice.")] = 1234,
    stem: Annotated[
        str | None,
        typer.Option(help="First layer: 'full' (a convolution at input resolution) or 'strided'."),
    ] = None,
    box_head: Annotated[
        bool | None,
        typer.Option(help="Also predict box kernels and edge distances (one box per kernel)."),
    ] = None,
    output_stride: Annotated[
        int | None,
        typer.Option(help="Output resolution: 1/2 or 1/4 of the net's input (4 needs --box-head)."),
    ] = None,
    compute_dtype: Annotated[
        str,
        typer.Option(
            help="Training maths: bfloat16 (fast on AVX-512 BF16 CPUs), or float32 on CPUs without."
        ),
    ] = "bfloat16",
    short_side: Annotated[
        int | None,
        typer.Option(help="Pages are scaled so their short side is this many pixels (the net's input size)."),
    ] = None,
    crop: Annotated[
        int | None,
        typer.Option(help="Side of the square training crops, in input pixels (a multiple of 16)."),
    ] = None,
    ema_momentum: Annotated[
        float | None,
        typer.Option(help="Save a moving average of the weights (momentum, e.g. 0.995), not the last ones."),
    ] = None,
    box_loss: Annotated[
        str,
        typer.Option(help="Edge-distance loss: 'l1' (each log distance) or 'iou' (the whole box's IoU)."),
    ] = "l1",
    members: Annotated[
        int,
        typer.Option(
            help="Train this many nets (seeds SEED, SEED+1, ...; --steps each, --max-minutes shared) "
            "and average their outputs."
        ),
    ] = 1,
    hold_out: Annotated[
        str,
        typer.Option(
            help="Documents never trained on: 'validation' (the fixed split), 'I/K' (cross-validation "
            "fold I of K), or 'none' (train on every document)."
        ),
    ] = "validation",
) -> None:
    """Train the handwriting detector on labelled pages plus synthetic pages.

    Without --stem / --box-head / --output-stride it trains the shipped model's design.
    """
    from indexer.training.data.splits import HoldOut
    from indexer.training.detector.card import finish_training
    from indexer.training.detector.train import TRAINED_DESIGN, TrainOptions, train_detector

    default = TRAINED_DESIGN
    with_boxes = default.box_head if box_head is None else box_head
    if output_stride is None:
        # fcn-v1 draws its boxes at the output resolution, so it keeps 1/2 unless told otherwise.
        output_stride = default.output_stride if with_boxes else 2
    design = replace(
        default,
        stem=default.stem if stem is None else stem,
        box_head=with_boxes,
        output_stride=output_stride,
        version="fcn-v2" if with_boxes else "fcn-v1",
        short_side_px=default.short_side_px if short_side is None else short_side,
    )
    if design.output_stride != 2 and not design.box_head:
        raise InputError(
            "--output-stride 4 needs --box-head: fcn-v1 boxes are drawn at the output resolution"
        )

    options = TrainOptions(
        data_dirs=data,
        out_dir=out,
        steps=steps,
        batch_size=batch_size,
        synthetic_pages=synthetic_pages,
        max_minutes=max_minutes,
        seed=seed,
        threads=settings().detector.threads,
        compute_dtype=compute_dtype,
        ema_momentum=ema_momentum,
        box_loss=box_loss,
        members=members,
        hold_out=HoldOut.parse(hold_out),
        config=design,
    )
    if crop is not None:
        options = replace(options, crop_px=crop)
    options = replace(options, command=_command_line(options))
    with progress() as bar:
        result = train_detector(options, on_progress=_progress_callback(bar))
        summary = finish_training(options, result, on_progress=_progress_callback(bar))
    typer.echo(summary)


@handle_errors
def train_refiner(
    model: Annotated[Path, typer.Option("--model", help="The detector folder to add a refiner to.")],
    data: Annotated[
        list[Path], typer.Option("--data", help="Labelled folder(s) holding the detector's training pages.")
    ],
    steps: Annotated[int, typer.Option(help="Optimiser steps (or until --max-minutes).")] = 1500,
    max_minutes: Annotated[
        float,
        typer.Option(help="Stop the training loop after this long (loading and saving add about 20 s)."),
    ] = 5.0,
    seed: Annotated[int, typer.Option(help="Seed for every random choice.")] = 1,
    samples: Annotated[int, typer.Option(help="Jittered boxes cut out before training.")] = 24000,
) -> None:
    """Train a box refiner on the detector's own training pages (its split.json) and add it to its folder.

    The refiner moves the left and right edges of the detector's boxes; `evaluate
    --no-refiner` scores the detector without it.
    """
    from indexer.training.detector.refiner import RefinerOptions, train_refiner
    from indexer.training.detector.refiner_card import finish_refiner

    options = RefinerOptions(
        model_dir=model,
        data_dirs=data,
        steps=steps,
        max_minutes=max_minutes,
        seed=seed,
        samples=samples,
        threads=settings().detector.threads,
    )
    words = ["indexer", "train-refiner", "--model", str(model), *_repeated("--data", data)]
    words += ["--steps", str(steps), "--max-minutes", f"{max_minutes:g}", "--seed", str(seed)]
    command = shlex.join([*words, "--samples", str(samples)])
    with progress() as bar:
        result = train_refiner(options, on_progress=_progress_callback(bar))
        summary = finish_refiner(options, result, command, on_progress=_progress_callback(bar))
    typer.echo(
        f"refiner: {result.steps_done} steps in {result.seconds:.0f} s on {result.boxes} boxes of "
        f"{result.train_pages} pages, loss {result.final_loss:.4f} (moving nothing: "
        f"{result.no_move_loss:.4f}); written to {model}"
    )
    typer.echo(summary)


@handle_errors
def calibrate_detector(
    data: Annotated[
        list[Path], typer.Option("--data", help="Labelled folder(s) holding the folds' held-out pages.")
    ],
    model: Annotated[
        list[Path],
        typer.Option("--model", help="A fold model (train-detector --hold-out K/N); give two or more."),
    ],
    apply_to: Annotated[
        list[Path] | None,
        typer.Option(
            "--apply-to",
            help="A model trained on every document (e.g. models/detector) that gets the settings "
            "chosen on all folds' held-out pages.",
        ),
    ] = None,
    prior: Annotated[
        list[float] | None,
        typer.Option(
            "--prior", help="An annotation prior to try (repeat it); default 1, 1.25, 1.5, 2, 3.", min=0.01
        ),
    ] = None,
    test_scales: Annotated[
        list[str] | None,
        typer.Option(
            "--test-scales",
            help="A set of test scales to try, e.g. 0.9,1,1.1 (repeat it); default 1 and 0.9,1,1.1.",
        ),
    ] = None,
    class_overlap_share: Annotated[
        list[str] | None,
        typer.Option(
            "--class-overlap-share",
            help="A class_overlap_share to try, or none (repeat it); default 0.5.",
        ),
    ] = None,
    merge_share: Annotated[
        list[str] | None,
        typer.Option("--merge-share", help="A merge_share to try, or none (repeat it); default 0.5."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the scores; change no folder.")] = False,
) -> None:
    """Choose the detector's decoding settings by nested cross-validation over fold models.

    Every combination of the annotation priors, test scales, class-overlap and merge shares given
    is scored. Each fold gets the combination that scores best on the other folds' held-out pages;
    the --apply-to models get the one that scores best on all of them. Written into detector.json,
    with calibration.json and a model-card section beside it.
    """
    from indexer.model_dirs.detector import CONFIG_FILE
    from indexer.training.detector.calibrate import (
        DecodingGrid,
        apply_calibration,
        calibrate_decoding,
        format_calibration,
        share_text,
    )
    from indexer.training.detector.train import load_pages

    defaults = DecodingGrid()
    grid = DecodingGrid(
        priors=tuple(prior) if prior else defaults.priors,
        test_scales=tuple(_scales(text) for text in test_scales) if test_scales else defaults.test_scales,
        class_overlap_shares=tuple(map(_share, class_overlap_share or [])) or defaults.class_overlap_shares,
        merge_shares=tuple(map(_share, merge_share or [])) or defaults.merge_shares,
    )
    shipped = list(apply_to or [])
    for folder in shipped:
        if not (folder / CONFIG_FILE).is_file():
            raise InputError(f"{folder} holds no detector ({CONFIG_FILE}) to apply the settings to")
    with progress() as bar:
        calibration = calibrate_decoding(
            model, load_pages(data), grid=grid, on_progress=_progress_callback(bar)
        )
    typer.echo(format_calibration(calibration))
    if dry_run:
        return
    words = [
        "indexer",
        "calibrate-detector",
        *_repeated("--data", data),
        *_repeated("--model", model),
        *_repeated("--apply-to", shipped),
        *_repeated("--prior", [f"{value:g}" for value in grid.priors]),
        *_repeated("--test-scales", [",".join(f"{s:g}" for s in scales) for scales in grid.test_scales]),
        *_repeated("--class-overlap-share", [share_text(value) for value in grid.class_overlap_shares]),
        *_repeated("--merge-share", [share_text(value) for value in grid.merge_shares]),
    ]
    apply_calibration(calibration, shipped, shlex.join(words))


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


@handle_errors
def evaluate(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled folder (VOC XML / VoTT JSON).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the CSV, JSON and box plot here.")] = None,
    split: Annotated[
        str,
        typer.Option(
            help="Which pages: validation (the fixed held-out documents), train, all, or held-out "
            "(the documents each --model never trained on, from its split.json)."
        ),
    ] = "validation",
    model: Annotated[
        list[Path] | None,
        typer.Option(
            "--model",
            help="A detector folder (weights + detector.json), e.g. one train-detector wrote; repeat "
            "it with --split held-out to pool cross-validation folds. Default: the shipped model.",
        ),
    ] = None,
    box_scale: Annotated[
        float,
        typer.Option(
            help="Diagnostic: score every box scaled about its centre by this factor, to see how much "
            "precision box size alone trades for recall. 1 scores the boxes as the model draws them.",
            min=0.1,
            max=10.0,
        ),
    ] = 1.0,
    refiner: Annotated[
        bool,
        typer.Option(help="Move the boxes' edges with the model's box refiner, if it has one."),
    ] = True,
) -> None:
    """Score the detector with the paper's pixel precision/recall and box AP@0.5."""
    from contextlib import ExitStack

    from indexer.api import build_detector, managed
    from indexer.training.detector.evaluate import (
        ResizedBoxes,
        evaluate_assigned,
        evaluate_held_out,
        format_report,
        select_pages,
        write_report,
    )
    from indexer.training.detector.train import load_pages

    if split not in SPLITS:
        raise InputError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    model_dirs: list[Path | None] = list(model) if model else [None]
    if len(model_dirs) > 1 and split != "held-out":
        raise InputError("several --model folders are pooled only with --split held-out")
    pages = load_pages(data)
    with ExitStack() as stack, progress() as bar:
        detectors: list[tuple[BoxDetector, Path | None]] = [
            (stack.enter_context(managed(build_detector(config))), _fcn_folder(config))
            for config in (_detector_settings(folder, use_refiner=refiner) for folder in model_dirs)
        ]
        if box_scale != 1.0:
            log.warning("scoring every box scaled by %g about its centre (--box-scale)", box_scale)
            detectors = [(ResizedBoxes(detector, box_scale), folder) for detector, folder in detectors]
        if split == "held-out":
            models = [(detector, _held_out_documents(folder)) for detector, folder in detectors]
            report = evaluate_held_out(models, pages, on_progress=_progress_callback(bar))
        else:
            detector, folder = detectors[0]
            chosen = select_pages(pages, split)
            _warn_if_trained_on(folder, chosen)
            report = evaluate_assigned(
                [(page, detector) for page in chosen], on_progress=_progress_callback(bar)
            )
    if report.pages == 0:
        raise InputError(f"no labelled pages to score in {', '.join(map(str, data))} with --split {split}")
    if out is not None:
        write_report(report, out)
    typer.echo(format_report(report))


def _fcn_folder(config: DetectorSettings) -> Path | None:
    """The model folder whose split.json applies: our FCN's (a SavedModel has none)."""
    return config.model_dir if config.engine == "fcn" else None


def _held_out_documents(model_dir: Path | None) -> frozenset[str]:
    """The documents a trained model never saw, from its split.json.

    Raises:
        InputError: the folder has no split.json (not written by train-detector) or a broken one,
            or the detector is a SavedModel.
    """
    from indexer.model_dirs.split import read_split

    record = None if model_dir is None else read_split(model_dir)
    if record is None:
        raise InputError(
            f"{model_dir} has no split.json, so its held-out documents are unknown; "
            "use --split validation for models trained before split.json existed"
        )
    return record.held_out_documents


def _warn_if_trained_on(model_dir: Path | None, chosen: list[Any]) -> None:
    """Say so when the chosen pages include documents the model trained on (then it is fit, not skill)."""
    from indexer.model_dirs.split import stems_trained_on

    if model_dir is None:
        return
    seen = stems_trained_on(model_dir, [page.stem for page in chosen])
    if seen:
        log.warning(
            "%s trained on %d of these %d pages (split.json): the figures show how well it fits them, "
            "not how it does on new documents; for those, evaluate models trained with --hold-out "
            "on the documents they held out (--split held-out)",
            model_dir,
            len(seen),
            len(chosen),
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `indexer` app."""
    app.command("detect")(detect)
    app.command("train-detector")(train_detector)
    app.command("train-refiner")(train_refiner)
    app.command("calibrate-detector")(calibrate_detector)
    app.command("evaluate")(evaluate)
