"""`indexer kibana-setup`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from indexer.cli.common import ELASTICSEARCH, handle_errors, settings

__all__ = ["register"]


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
    from indexer.search.kibana import SAVED_OBJECTS, import_saved_objects

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


def register(app: typer.Typer) -> None:
    app.command("kibana-setup", rich_help_panel=ELASTICSEARCH)(kibana_setup)
