"""Handwriting OCR commands: `ocr-handwriting`, `train-htr`, `htr-lexicon` and `evaluate-ocr`."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from indexer.cli.common import MODELS, handle_errors, progress_callback, settings
from indexer.errors import ConfigError, InputError
from indexer.logs import progress
from indexer.training.htr.options import TrainOptions

__all__ = ["register"]

_ENGINES_HELP = (
    "Engines to compare, comma-separated (auto, azure, trocr, ppocr, ppocr+typed, ensemble, htr, tesseract;"
    " ppocr, ppocr+typed and ensemble are scored with settings cross-validated by document)."
)


@handle_errors
def ocr_handwriting(
    images: Annotated[list[Path], typer.Argument(help="Crop images (PNG, JPEG, ...).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    engine: Annotated[str | None, typer.Option(help="Override INDEXER_HANDWRITING__ENGINE.")] = None,
) -> None:
    """Read handwriting crops with the configured engine."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from indexer.backends.select import build_recognizer

    config = settings()
    recognizer = build_recognizer(config, engine=engine)
    crops = []
    for path in images:
        try:
            with Image.open(path) as opened:
                crops.append(np.asarray(opened.convert("RGB")))
        except (OSError, UnidentifiedImageError) as exc:
            raise InputError(f"cannot read image {path}: {exc}", path=str(path)) from exc
    batch_size = config.handwriting.batch_size
    for start in range(0, len(crops), batch_size):
        results = recognizer.recognize(crops[start : start + batch_size])
        for path, result in zip(images[start : start + batch_size], results, strict=True):
            if as_json:
                record = {"image": str(path), "text": result.text, "confidence": round(result.confidence, 4)}
                typer.echo(json.dumps({**record, "engine": result.engine}, ensure_ascii=False))
            else:
                typer.echo(f"{path}\t{result.text}\t{result.confidence:.2f}\t{result.engine}")


@handle_errors
def train_htr(
    output: Annotated[Path, typer.Option(help="Where to write the model.")] = Path("models/htr"),
    iam: Annotated[Path | None, typer.Option(help="IAM folder holding words.txt and words/.")] = None,
    synthetic: Annotated[int, typer.Option(help="Synthetic words and lines to render.")] = 0,
    transcriptions: Annotated[
        Path | None, typer.Option(help="Labelled real crops (transcriptions.json).")
    ] = None,
    images: Annotated[
        Path | None, typer.Option(help="Page images of the transcriptions (default: ./images).")
    ] = None,
    corrections: Annotated[
        Path | None,
        typer.Option(
            help="Corrections made in the review app (<state dir>/corrections), as labelled lines "
            "(split by document like --transcriptions)."
        ),
    ] = None,
    real_copies: Annotated[int, typer.Option(help="Augmented copies of each real training crop.")] = 40,
    epochs: Annotated[int, typer.Option(min=1)] = 10,
    max_minutes: Annotated[
        float, typer.Option(help="Stop training once this many minutes are spent.")
    ] = TrainOptions.max_minutes,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    learning_rate: Annotated[float, typer.Option()] = 1e-3,
    seed: Annotated[int, typer.Option()] = 0,
    init_from: Annotated[Path | None, typer.Option(help="Fine-tune the model saved in this folder.")] = None,
    validate: Annotated[
        bool, typer.Option("--validate", help="Only check the data and print counts.")
    ] = False,
) -> None:
    """Train the CNN + BiLSTM + CTC recognizer (`htr`)."""
    import atexit
    import shutil
    import tempfile

    from indexer.training.htr.corrections import read_corrections, write_transcriptions
    from indexer.training.htr.train import train_htr, validate_data

    if not (iam or synthetic or transcriptions or corrections):
        raise ConfigError(
            "give at least one of --iam DIR, --synthetic N, --transcriptions FILE, --corrections DIR"
        )
    if corrections is not None:
        # Training reads labelled crops as transcriptions: the corrections join them there.
        labelled = Path(tempfile.mkdtemp(prefix="indexer-corrections-"))
        atexit.register(shutil.rmtree, labelled, ignore_errors=True)
        transcriptions = write_transcriptions(
            read_corrections(corrections), labelled, transcriptions=transcriptions, images_dir=images
        )
        images = labelled / "images"
    options = TrainOptions(
        out_dir=output,
        synthetic=synthetic,
        iam_dir=iam,
        transcriptions=transcriptions,
        images_dir=images,
        real_copies=real_copies,
        epochs=epochs,
        max_minutes=max_minutes,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        init_dir=init_from,
        command=shlex.join(["indexer", *sys.argv[1:]]),
    )
    if validate:
        for name, count in validate_data(options).items():
            typer.echo(f"{name}\t{count}")
        return
    with progress() as bar:
        result = train_htr(options, on_progress=progress_callback(bar))
    typer.echo(
        f"trained on {result.samples} samples, {result.steps} steps, {result.seconds:.0f} s -> {output}"
    )
    for label, scored in (("holdout", result.holdout), ("real validation", result.validation)):
        if scored is not None:
            typer.echo(f"{label}: CER {scored.cer:.3f}, word accuracy {scored.word_accuracy:.3f}")


@handle_errors
def htr_lexicon(
    model_dir: Annotated[Path, typer.Option(help="The htr model folder to write lexicon.txt into.")] = Path(
        "models/htr"
    ),
    transcriptions: Annotated[
        Path | None,
        typer.Option(help="Add the words of these labelled crops (training documents only)."),
    ] = None,
) -> None:
    """Rebuild a trained model's spelling lexicon (as `train-htr` writes it), without retraining."""
    from indexer.model_dirs.htr import LEXICON_FILE
    from indexer.training.htr.lexicon import build_lexicon, training_words

    if not model_dir.is_dir():
        raise InputError(f"no model folder at {model_dir}", path=str(model_dir))
    lexicon = build_lexicon(training_words(transcriptions) if transcriptions else ())
    lexicon.save(model_dir / LEXICON_FILE)
    typer.echo(
        f"{len(lexicon.contract)} contract words, {len(lexicon.english)} English words -> "
        f"{model_dir / LEXICON_FILE}"
    )


@handle_errors
def evaluate_ocr(
    transcriptions: Annotated[Path, typer.Option(help="transcriptions.json with the labelled boxes.")],
    images: Annotated[Path, typer.Option(help="Folder of the page images.")],
    engines: Annotated[str, typer.Option(help=_ENGINES_HELP)] = "auto",
    split: Annotated[str, typer.Option(help="validation, train or all documents.")] = "validation",
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON lines.")] = False,
) -> None:
    """Score engines on labelled crops, side by side with Tesseract (CER, word accuracy, exact, dates)."""
    from indexer.training.htr.evaluate import evaluate_engines

    if split not in {"validation", "train", "all"}:
        raise ConfigError(f"--split must be validation, train or all, not {split!r}")
    names = [name.strip() for name in engines.split(",") if name.strip()]
    if "tesseract" not in names:
        names.append("tesseract")
    config = settings()
    with progress() as bar:
        rows = evaluate_engines(
            config,
            transcriptions=transcriptions,
            images_dir=images,
            engines=names,
            split=split,
            on_progress=progress_callback(bar),
        )
    for row in rows:
        if as_json:
            typer.echo(json.dumps(row.as_dict()))
    if not as_json:
        header = f"{'engine':<12} {'crops':>5} {'CER':>6} {'word acc':>8} {'exact':>5} {'dates':>11}"
        typer.echo(f"{header} {'ms/crop':>8}")
        for row in rows:
            dates = f"{row.date_accuracy:.3f} {row.dates[0]}/{row.dates[1]}"
            typer.echo(
                f"{row.engine:<12} {row.score.crops:>5} {row.score.cer:>6.3f} "
                f"{row.score.word_accuracy:>8.3f} {row.score.exact:>5} {dates:>11} {row.ms_per_crop:>8.1f}"
            )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `indexer` app."""
    app.command("ocr-handwriting", rich_help_panel=MODELS)(ocr_handwriting)
    app.command("train-htr", rich_help_panel=MODELS)(train_htr)
    app.command("htr-lexicon", rich_help_panel=MODELS)(htr_lexicon)
    app.command("evaluate-ocr", rich_help_panel=MODELS)(evaluate_ocr)
