"""`indexer es start|stop|status`: the project's own Elasticsearch node."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from indexer.cli.common import handle_errors, settings
from indexer.errors import ConfigError

if TYPE_CHECKING:
    from indexer.node import EmbeddedNode

__all__ = ["app"]

app = typer.Typer(help="Start, stop and inspect the local Elasticsearch node.", no_args_is_help=True)


def _node() -> EmbeddedNode:
    from indexer.node import EmbeddedNode

    loaded = settings()
    if not loaded.es.is_embedded:
        raise ConfigError(
            f"INDEXER_ES_URL is set ({loaded.es.url}); `indexer es` manages only the local node. "
            "Unset it to use the local node."
        )
    return EmbeddedNode(loaded)


@app.command()
@handle_errors
def start() -> None:
    """Download (once), start and wait for the local node; reuse it if it already runs."""
    started = time.monotonic()
    status = _node().ensure_running()
    typer.echo(
        f"Elasticsearch {status.version} running at {status.url} (pid {status.pid}, health {status.health}, "
        f"{time.monotonic() - started:.1f} s)"
    )


@app.command()
@handle_errors
def stop() -> None:
    """Stop the local node cleanly."""
    node = _node()
    typer.echo(
        f"stopped Elasticsearch at {node.url}" if node.stop() else f"no local node was running at {node.url}"
    )


@app.command()
@handle_errors
def status() -> None:
    """Say whether the local node runs, where, its version, health and modules. Exit 1 if it is down."""
    from indexer.node import list_modules

    node = _node()
    current = node.status()
    if not current.is_running:
        typer.echo(f"not running (would listen on {current.url}; state in {current.home})")
        raise typer.Exit(1)
    loaded = settings()
    es_home = loaded.cache_dir / f"elasticsearch-{loaded.es.node.version}"
    modules = ", ".join(list_modules(es_home)) if (es_home / "modules").is_dir() else "unknown"
    typer.echo(f"running at {current.url}")
    typer.echo(f"  version: {current.version}")
    typer.echo(f"  health:  {current.health}")
    typer.echo(f"  pid:     {current.pid}")
    typer.echo(f"  state:   {current.home}")
    typer.echo(f"  modules: {modules}")
