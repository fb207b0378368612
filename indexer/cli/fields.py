"""`indexer evaluate-fields`: the whole path from page to index, scored per handwritten field."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from indexer.cli.common import MODELS, handle_errors, progress_callback, settings
from indexer.logs import progress

__all__ = ["register"]


@handle_errors
def evaluate_fields(
    data: Annotated[
        Path,
        typer.Option(help="Labelled folder: annotations/ (Pascal VOC), images/ and transcriptions.json."),
    ],
    folds: Annotated[
        list[Path] | None,
        typer.Option(
            "--fold",
            help="A detector folder with split.json; repeat it. Each document is read by the fold that "
            "held it out. Default: the shipped cross-validation folds (<detector model>/cv/fold-*).",
        ),
    ] = None,
    no_folds: Annotated[
        bool,
        typer.Option(
            "--no-folds", help="Read every page with the configured detector (a fit if it trained on them)."
        ),
    ] = False,
    max_pages: Annotated[int | None, typer.Option(help="Score only the first N pages.", min=1)] = None,
    keep_index: Annotated[bool, typer.Option(help="Keep the scratch alias for a look in Kibana.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object.")] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write one JSON line per drawn box (truth, reading, kind, label) and per printed "
            "word lost to masking here."
        ),
    ] = None,
) -> None:
    """Ingest labelled pages into a scratch alias and score what the index holds per person-read box:
    found, end-to-end CER, exact, date accuracy, kind confusions and printed words lost to masking."""
    from indexer.model_dirs.split import document_of
    from indexer.training.fields.evaluate import default_folds, evaluate_fields

    config = settings()
    # A `kill` (SIGTERM) unwinds like Ctrl-C, so the scratch indices are deleted on the way out.
    _terminated.clear()  # a signal an earlier in-process call received is not this run's
    signal.signal(signal.SIGTERM, _exit_on_term)
    chosen = [] if no_folds else (list(folds) if folds else default_folds(config))
    with progress() as bar:
        draw = progress_callback(bar)

        def on_progress(stage: str, done: int, total: int, message: str) -> None:
            _exit_if_terminated()
            draw(stage, done, total, message)

        try:
            run = evaluate_fields(
                config,
                data,
                folds=chosen,
                max_pages=max_pages,
                keep_index=keep_index,
                on_progress=on_progress,
            )
        except Exception:
            # The handler's SystemExit, raised inside native code (TensorFlow's inference), comes
            # back as that code's own error (`SystemError: bad argument to internal function`)
            # and would end the run as a failed page rather than a kill.
            _exit_if_terminated()
            raise
    _exit_if_terminated()
    if out is not None:
        with out.open("w", encoding="utf-8") as handle:
            for page in run.pages:
                for row in page.details:
                    handle.write(json.dumps(row) + "\n")
    figures = run.report.as_dict()
    read_documents = {document_of(page.stem) for page in run.pages}
    figures["detector"] = _detector_words(
        len(read_documents) - len(run.configured_documents), len(run.configured_documents)
    )
    figures["configured_detector_documents"] = run.configured_documents
    figures["skipped_documents"] = run.skipped_documents
    if as_json:
        typer.echo(json.dumps(figures))
        return
    report = run.report
    typer.echo(f"{report.pages} pages, {report.boxes} person-read boxes, detector: {figures['detector']}")
    rows = [
        (
            "found (annotation span covers >= half)",
            f"{report.found_share:.3f} ({report.found}/{report.boxes})",
        ),
        ("end-to-end CER (missing = whole length)", f"{report.cer:.3f}"),
        ("exact", f"{report.exact}/{report.boxes}"),
        (
            "date accuracy (ISO date in the span's dates)",
            f"{report.date_accuracy:.3f} ({report.dates[0]}/{report.dates[1]})",
        ),
        ("signatures indexed as annotations", f"{figures['signature_as_annotation']:.3f}"),
        ("annotations indexed as signatures", f"{figures['annotation_as_signature']:.3f}"),
        (
            "printed words lost to masking (all pages)",
            f"{report.lost_words[0]}/{report.lost_words[1]}",
        ),
        ("printed words lost, median page", f"{figures['median_page_lost_share']}"),
    ]
    for name, value in rows:
        typer.echo(f"{name:<46} {value}")
    typer.echo(
        "kinds (person -> index): " + ", ".join(f"{key} {count}" for key, count in figures["kinds"].items())
    )


_terminated: list[int] = []


def _exit_on_term(signum: int, _frame: object) -> None:
    _terminated.append(signum)
    raise SystemExit(128 + signum)


def _exit_if_terminated() -> None:
    """Exit for a SIGTERM whose SystemExit was swallowed: a handler that runs inside a `__del__` or
    a native callback raises into code that only logs it, and the run would go on to exit 0."""
    if _terminated:
        raise SystemExit(128 + _terminated[0])


def _detector_words(by_folds: int, by_configured: int) -> str:
    """Which detector read how many documents, for the report's first line."""
    if not by_folds:
        return "configured detector"
    if by_configured:
        return (
            f"cross-validation folds for {by_folds} documents; the configured detector for "
            f"{by_configured} documents no fold held out and it never trained on"
        )
    return "cross-validation folds"


def register(app: typer.Typer) -> None:
    app.command("evaluate-fields", rich_help_panel=MODELS)(evaluate_fields)
