"""`indexer worker`: a Celery worker that takes files from the queue, runs the pipeline, indexes."""

from __future__ import annotations

from typing import Annotated

import typer

from indexer.cli.common import DAILY_USE, STATE, handle_errors, settings
from indexer.errors import ConfigError

__all__ = ["register"]


@handle_errors
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Pipeline processes, one file each (default: INDEXER_WATCH__WORKERS)."),
    ] = None,
) -> None:
    """Process files that `indexer watch` queued (needs INDEXER_QUEUE__URL and the files' folder)."""
    from indexer.preflight import check_pipeline
    from indexer.queue import run_worker
    from indexer.queue.app import describe_url
    from indexer.search import connect

    loaded = settings()
    if not loaded.queue.url:
        raise ConfigError(
            "indexer worker needs a queue: set INDEXER_QUEUE__URL=redis://host:6379/0 here and for "
            "`indexer watch`"
        )
    # Validate up front, as `indexer watch` does, before any process loads a model.
    check_pipeline(loaded)
    connect(loaded).close()
    processes = concurrency or loaded.watch.workers
    typer.echo(
        f"worker: {processes} process(es) on {describe_url(loaded.queue.url)} (queue {loaded.queue.name})",
        err=True,
    )
    run_worker(loaded, concurrency=processes, verbosity=STATE.verbosity)


def register(app: typer.Typer) -> None:
    app.command("worker", rich_help_panel=DAILY_USE)(worker)
