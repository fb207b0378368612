"""`indexer evaluate-entities`: how well entity extraction reads handwritten strings."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from indexer.cli.common import MODELS, handle_errors, settings

__all__ = ["register"]


@handle_errors
def evaluate_entities(
    cases: Annotated[
        Path | None,
        typer.Option("--cases", help="Table of strings (default: the table shipped in indexer/training)."),
    ] = None,
    show_misses: Annotated[bool, typer.Option("--misses", help="List every wrong or missed value.")] = False,
) -> None:
    """Precision and recall of entity extraction per entity type on a table of handwritten strings."""
    from indexer.processors.entities import EntityExtractor
    from indexer.training.entities import DEFAULT_CASES, evaluate, load_cases, total

    table = load_cases(cases or DEFAULT_CASES)
    extractor = EntityExtractor(settings().entities)
    scores = evaluate(table, extractor)
    # The scoring pass warmed the parsers up; a second pass is the speed per handwritten span.
    started = time.perf_counter()
    for case in table:
        extractor.entities(case.text)
    ms_per_string = (time.perf_counter() - started) * 1000 / max(len(table), 1)
    typer.echo(f"{len(table)} strings, {ms_per_string:.2f} ms per string")
    typer.echo(f"{'type':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>6}")
    for name, score in [*scores.items(), ("all", total(scores))]:
        typer.echo(
            f"{name:<10} {score.true_positives:>4} {score.false_positives:>4} {score.false_negatives:>4} "
            f"{score.precision:>9.3f} {score.recall:>6.3f}"
        )
    if show_misses:
        for name, score in scores.items():
            for miss in score.misses:
                typer.echo(f"{name}: {miss}")


def register(app: typer.Typer) -> None:
    app.command("evaluate-entities", rich_help_panel=MODELS)(evaluate_entities)
