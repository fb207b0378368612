"""Training the handwriting detector: `train-detector`, `train-refiner` and `calibrate-detector`.

Each maps its flags onto an options object (`indexer.training.detector.options`), which owns the
defaults shown here and the command line written into the model card.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from indexer.cli.common import MODELS, handle_errors, progress_callback, settings
from indexer.errors import InputError
from indexer.logs import progress
from indexer.training.detector.options import (
    TRAINED_DESIGN,
    CalibrationOptions,
    DecodingGrid,
    RefinerOptions,
    TrainOptions,
    network_design,
    share_text,
)

__all__ = ["register"]

#: The values `calibrate-detector` tries when not told (for its help).
_GRID = DecodingGrid()


@handle_errors
def train_detector(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled folder (VOC XML / VoTT JSON).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the weights and model card.")],
    steps: Annotated[
        int, typer.Option(help="Optimiser steps (or until --max-minutes).")
    ] = TrainOptions.steps,
    batch_size: Annotated[int, typer.Option(help="Crops per step.")] = TrainOptions.batch_size,
    synthetic_pages: Annotated[
        int, typer.Option(help="Synthetic pages to mix in.")
    ] = TrainOptions.synthetic_pages,
    max_minutes: Annotated[
        float,
        typer.Option(help="Stop the training loop after this long (loading and saving add about 40 s)."),
    ] = TrainOptions.max_minutes,
    seed: Annotated[int, typer.Option(help="Seed for every random choice.")] = TrainOptions.seed,
    stem: Annotated[
        str,
        typer.Option(help="First layer: 'full' (a convolution at input resolution) or 'strided'."),
    ] = TRAINED_DESIGN.stem,
    box_head: Annotated[
        bool,
        typer.Option(help="Also predict box kernels and edge distances (one box per kernel)."),
    ] = TRAINED_DESIGN.box_head,
    output_stride: Annotated[
        int | None,
        typer.Option(
            help="Output resolution: 1/2 or 1/4 of the net's input (4 needs --box-head). "
            "Default: the shipped design's with --box-head, 2 without."
        ),
    ] = None,
    compute_dtype: Annotated[
        str,
        typer.Option(
            help="Training maths: bfloat16 (fast on AVX-512 BF16 CPUs), or float32 on CPUs without."
        ),
    ] = TrainOptions.compute_dtype,
    short_side: Annotated[
        int,
        typer.Option(help="Pages are scaled so their short side is this many pixels (the net's input size)."),
    ] = TRAINED_DESIGN.short_side_px,
    crop: Annotated[
        int,
        typer.Option(help="Side of the square training crops, in input pixels (a multiple of 16)."),
    ] = TrainOptions.crop_px,
    scale_range: Annotated[
        tuple[float, float],
        typer.Option(help="Scale each training crop's page by a factor drawn from LOW HIGH."),
    ] = TrainOptions.scale_range,
    paste_share: Annotated[
        float,
        typer.Option(
            help="Share of real-page crops whose page first gets 1-4 handwriting boxes cut from other "
            "training pages (copy-paste); 0 turns it off."
        ),
    ] = TrainOptions.paste_share,
    ema_momentum: Annotated[
        float | None,
        typer.Option(help="Save a moving average of the weights (momentum, e.g. 0.995), not the last ones."),
    ] = TrainOptions.ema_momentum,
    box_loss: Annotated[
        str,
        typer.Option(help="Edge-distance loss: 'l1' (each log distance) or 'iou' (the whole box's IoU)."),
    ] = TrainOptions.box_loss,
    members: Annotated[
        int,
        typer.Option(
            help="Train this many nets (seeds SEED, SEED+1, ...; --steps each, --max-minutes shared) "
            "and average their outputs."
        ),
    ] = TrainOptions.members,
    hold_out: Annotated[
        str,
        typer.Option(
            help="Documents never trained on: 'validation' (the fixed split), 'I/K' (cross-validation "
            "fold I of K), or 'none' (train on every document)."
        ),
    ] = str(TrainOptions.hold_out),
) -> None:
    """Train the handwriting detector on labelled pages plus synthetic pages.

    Its defaults are the shipped model's recipe; the card spells out every option used.
    """
    from indexer.training.data.splits import HoldOut
    from indexer.training.detector.card import finish_training
    from indexer.training.detector.train import train_detector

    design = network_design(
        stem=stem, box_head=box_head, output_stride=output_stride, short_side_px=short_side
    )
    options = TrainOptions(
        data_dirs=data,
        out_dir=out,
        steps=steps,
        batch_size=batch_size,
        crop_px=crop,
        scale_range=scale_range,
        paste_share=paste_share,
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
    with progress() as bar:
        result = train_detector(options, on_progress=progress_callback(bar))
        summary = finish_training(options, result, on_progress=progress_callback(bar))
    typer.echo(summary)


@handle_errors
def train_refiner(
    model: Annotated[Path, typer.Option("--model", help="The detector folder to add a refiner to.")],
    data: Annotated[
        list[Path], typer.Option("--data", help="Labelled folder(s) holding the detector's training pages.")
    ],
    steps: Annotated[
        int, typer.Option(help="Optimiser steps (or until --max-minutes).")
    ] = RefinerOptions.steps,
    max_minutes: Annotated[
        float,
        typer.Option(help="Stop the training loop after this long (loading and saving add about 20 s)."),
    ] = RefinerOptions.max_minutes,
    seed: Annotated[int, typer.Option(help="Seed for every random choice.")] = RefinerOptions.seed,
    samples: Annotated[
        int, typer.Option(help="Jittered boxes cut out before training.")
    ] = RefinerOptions.samples,
) -> None:
    """Train a box refiner on the detector's own training pages (its split.json) and add it to its folder.

    The refiner moves the left and right edges of the detector's boxes; `evaluate
    --no-refiner` scores the detector without it.
    """
    from indexer.training.detector.refiner import train_refiner
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
    with progress() as bar:
        result = train_refiner(options, on_progress=progress_callback(bar))
        summary = finish_refiner(options, result, on_progress=progress_callback(bar))
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
            "--prior",
            help="An annotation prior to try (repeat it); default "
            f"{', '.join(map(share_text, _GRID.priors))}.",
            min=0.01,
        ),
    ] = None,
    test_scales: Annotated[
        list[str] | None,
        typer.Option(
            "--test-scales",
            help="A set of test scales to try, e.g. 0.9,1,1.1 (repeat it); default "
            + " and ".join(",".join(map(share_text, scales)) for scales in _GRID.test_scales)
            + ".",
        ),
    ] = None,
    class_overlap_share: Annotated[
        list[str] | None,
        typer.Option(
            "--class-overlap-share",
            help="A class_overlap_share to try, or none (repeat it); default "
            f"{', '.join(map(share_text, _GRID.class_overlap_shares))}.",
        ),
    ] = None,
    merge_share: Annotated[
        list[str] | None,
        typer.Option(
            "--merge-share",
            help="A merge_share to try, or none (repeat it); default "
            f"{', '.join(map(share_text, _GRID.merge_shares))}.",
        ),
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
    from indexer.training.detector.calibrate import apply_calibration, calibrate_decoding, format_calibration
    from indexer.training.detector.train import load_pages

    grid = DecodingGrid.from_flags(
        priors=prior or (),
        test_scales=test_scales or (),
        class_overlap_shares=class_overlap_share or (),
        merge_shares=merge_share or (),
    )
    options = CalibrationOptions(data_dirs=data, model_dirs=model, apply_to=list(apply_to or []), grid=grid)
    for folder in options.apply_to:
        if not (folder / CONFIG_FILE).is_file():
            raise InputError(f"{folder} holds no detector ({CONFIG_FILE}) to apply the settings to")
    with progress() as bar:
        calibration = calibrate_decoding(
            model, load_pages(data), grid=grid, on_progress=progress_callback(bar)
        )
    typer.echo(format_calibration(calibration))
    if not dry_run:
        apply_calibration(calibration, options.apply_to, shlex.join(options.to_argv()))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `indexer` app."""
    app.command("train-detector", rich_help_panel=MODELS)(train_detector)
    app.command("train-refiner", rich_help_panel=MODELS)(train_refiner)
    app.command("calibrate-detector", rich_help_panel=MODELS)(calibrate_detector)
