"""The `indexer` command line: thin Typer commands over `indexer.api` and friends.

Heavy imports (tensorflow, transformers, the pipeline) happen inside the commands that need
them, so `indexer --help` stays fast. Each command group lives in its own module here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from indexer.cli import (
    detector,
    detector_training,
    entities,
    fields,
    htr,
    ingest,
    kibana,
    search,
    serve,
    watch,
    worker,
)
from indexer.cli import es as es_commands
from indexer.cli.common import ELASTICSEARCH, STATE
from indexer.logs import configure_logging

__all__ = ["app", "main"]

app = typer.Typer(
    name="indexer",
    help="Make scanned contracts with handwritten annotations searchable in Elasticsearch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")] = 0,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default: ./indexer.toml).")
    ] = None,
) -> None:
    configure_logging(verbose)
    STATE.verbosity = verbose
    STATE.config_file = config


app.add_typer(es_commands.app, name="es", rich_help_panel=ELASTICSEARCH)
# Each command module adds what it builds; the rest stay as "not built yet" placeholders. `--help`
# lists the commands in this order, in panels by what users do first (`common.DAILY_USE`, ...).
_COMMAND_MODULES = (
    watch,
    worker,
    serve,
    ingest,
    search,
    detector,
    detector_training,
    htr,
    entities,
    fields,
    kibana,
)
for _module in _COMMAND_MODULES:
    _module.register(app)


def main() -> None:
    app()
