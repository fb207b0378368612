"""`indexer ingest`, `indexer pipeline` and `indexer bench`: the ingestion pipeline from the terminal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from indexer.cli.common import DAILY_USE, MODELS, handle_errors, settings
from indexer.errors import ExitCode
from indexer.logs import console, progress

if TYPE_CHECKING:
    from indexer.api import IngestOutcome
    from indexer.document import Page

__all__ = ["register"]


@handle_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="PDF, TIFF, PNG or JPEG files, or folders of them.")],
    viz: Annotated[bool, typer.Option("--viz", help="Also write the boxes and anchors pictures.")] = False,
) -> None:
    """Run files or folders through the pipeline and index their pages.

    Exits 0 only when every file was indexed; prints one line per failed file.
    """
    from indexer.api import Ingestor, collect_inputs
    from indexer.processors.render import SUPPORTED_SUFFIXES

    files = collect_inputs(paths)
    if not files:
        console.print(f"no input files found (looked for {', '.join(sorted(SUPPORTED_SUFFIXES))})")
        raise typer.Exit(ExitCode.INPUT)
    for path in files:
        if path.is_symlink():
            # realpath, not resolve(): a link loop must fail as that file's error, not here.
            typer.echo(f"following link {path} -> {os.path.realpath(path)}")
    with progress() as bar, Ingestor(settings(), viz=viz) as ingestor:
        documents = bar.add_task("documents", total=len(files))
        pages = bar.add_task("pages", total=None)

        def on_page(page: Page) -> None:
            bar.advance(pages)

        def on_document(outcome: IngestOutcome) -> None:
            bar.advance(documents)
            bar.update(pages, completed=0, total=None)

        outcomes = ingestor.ingest_many(files, on_document=on_document, on_page=on_page)
    failed = [outcome for outcome in outcomes if not outcome.is_indexed]
    indexed_pages = sum(
        outcome.document.page_count for outcome in outcomes if outcome.document and outcome.is_indexed
    )
    typer.echo(f"indexed {len(outcomes) - len(failed)} of {len(outcomes)} files ({indexed_pages} pages)")
    for outcome in failed:
        reason = outcome.error.message if outcome.error else "unknown error"
        typer.echo(f"FAILED {outcome.path}: {reason}")
    if failed:
        exit_code = failed[0].error.exit_code if failed[0].error else ExitCode.FAILURE
        raise typer.Exit(exit_code)


@handle_errors
def pipeline() -> None:
    """Print the effective processors and the engines behind them, in order."""
    from indexer.api import build_pipeline

    loaded = settings()
    with build_pipeline(loaded) as built:
        for number, line in enumerate(built.describe(), start=1):
            typer.echo(f"{number}. {line}")
    steps = len(built.describe())
    typer.echo(f"{steps + 1}. index_pages: alias {loaded.es.alias!r} at {loaded.es.effective_url}")


@handle_errors
def bench(
    path: Annotated[Path, typer.Argument(help="A PDF or image file, or a folder of page images.")],
    max_pages: Annotated[int, typer.Option(help="Stop after this many pages.")] = 10,
) -> None:
    """Seconds per page of each processor (median) against plain `tesseract` on the same pages."""
    from indexer.pipeline_timing import run_bench

    report = run_bench(settings(), path, max_pages=max_pages)
    typer.echo(report.table())


def register(app: typer.Typer) -> None:
    app.command("ingest", rich_help_panel=DAILY_USE)(ingest)
    app.command("pipeline", rich_help_panel=MODELS)(pipeline)
    app.command("bench", rich_help_panel=MODELS)(bench)
