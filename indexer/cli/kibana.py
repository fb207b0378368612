"""`indexer kibana-setup` and `indexer evaluate-entities`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from indexer.cli.common import handle_errors, settings

__all__ = ["BUILT", "register"]

BUILT = frozenset({"kibana-setup", "evaluate-entities"})


@handle_errors
def kibana_setup(
    url: Annotated[str, typer.Option("--url", help="Kibana's base URL, e.g. http://localhost:5601.")],
    objects: Annotated[
        Path | None,
        typer.Option("--objects", help="ndjson to import (default: kibana/saved_objects.ndjson)."),
    ] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="Kibana API key (base64).")] = None,
    username: Annotated[
        str | None, typer.Option("--username", help="Basic auth user (default: the Elasticsearch user).")
    ] = None,
    password: Annotated[str | None, typer.Option("--password", help="Basic auth password.")] = None,
    space: Annotated[
        str | None, typer.Option("--space", help="Kibana space id (default space if omitted).")
    ] = None,
) -> None:
    """Import the data view, saved search and dashboard into Kibana (overwrites them by id)."""
    from indexer.kibana import SAVED_OBJECTS, import_saved_objects

    loaded = settings()
    es_password = loaded.es.password.get_secret_value() if loaded.es.password else None
    es_api_key = loaded.es.api_key.get_secret_value() if loaded.es.api_key else None
    result = import_saved_objects(
        url,
        objects or SAVED_OBJECTS,
        api_key=api_key or (es_api_key if not username else None),
        username=username or loaded.es.username,
        password=password or es_password,
        space=space,
        ca_certs=loaded.es.ca_certs,
    )
    typer.echo(f"imported {result.success_count} saved objects into {url}")
    for kind, object_id in result.imported:
        typer.echo(f"  {kind} {object_id}")


@handle_errors
def evaluate_entities(
    cases: Annotated[
        Path | None, typer.Option("--cases", help="Table of strings (default: tests/data/entity_cases.json).")
    ] = None,
    show_misses: Annotated[bool, typer.Option("--misses", help="List every wrong or missed value.")] = False,
) -> None:
    """Precision and recall of entity extraction per entity type on a table of handwritten strings."""
    from indexer.processors.entities import EntityExtractor
    from indexer.processors.entity_eval import DEFAULT_CASES, evaluate, load_cases, total

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
    app.command("kibana-setup")(kibana_setup)
    app.command("evaluate-entities")(evaluate_entities)
