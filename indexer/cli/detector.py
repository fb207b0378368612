"""Using the handwriting detector: `detect` and `evaluate` (thin over the library)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from indexer.cli.common import MODELS, handle_errors, progress_callback, settings
from indexer.errors import InputError
from indexer.logs import progress

if TYPE_CHECKING:
    from indexer.backends.base import BoxDetector
    from indexer.config import DetectorSettings

__all__ = ["register"]

log = logging.getLogger(__name__)

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
        check_split,
        evaluate_split,
        format_report,
        write_report,
    )
    from indexer.training.detector.train import load_pages

    model_dirs: list[Path | None] = list(model) if model else [None]
    check_split(split, models=len(model_dirs))
    pages = load_pages(data)
    with ExitStack() as stack, progress() as bar:
        detectors: list[tuple[BoxDetector, Path | None]] = [
            (stack.enter_context(managed(build_detector(config))), _fcn_folder(config))
            for config in (_detector_settings(folder, use_refiner=refiner) for folder in model_dirs)
        ]
        if box_scale != 1.0:
            log.warning("scoring every box scaled by %g about its centre (--box-scale)", box_scale)
            detectors = [(ResizedBoxes(detector, box_scale), folder) for detector, folder in detectors]
        report = evaluate_split(detectors, pages, split, on_progress=progress_callback(bar))
    if report.pages == 0:
        raise InputError(f"no labelled pages to score in {', '.join(map(str, data))} with --split {split}")
    if out is not None:
        write_report(report, out)
    typer.echo(format_report(report))


def _fcn_folder(config: DetectorSettings) -> Path | None:
    """The model folder whose split.json applies: our FCN's (a SavedModel has none)."""
    return config.model_dir if config.engine == "fcn" else None


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `indexer` app."""
    app.command("detect", rich_help_panel=MODELS)(detect)
    app.command("evaluate", rich_help_panel=MODELS)(evaluate)
