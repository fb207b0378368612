"""`indexer serve`: the review page and REST API, and with `--watch` the watch daemon too."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from indexer.cli.common import DAILY_USE, STATE, handle_errors, settings

if TYPE_CHECKING:
    import uvicorn

    from indexer.config import Settings

__all__ = ["register"]

log = logging.getLogger(__name__)


@handle_errors
def serve(
    inbox: Annotated[
        Path, typer.Option(help="Where uploads go: the folder the watch daemon watches.")
    ] = Path("inbox"),
    watch: Annotated[
        bool, typer.Option("--watch", help="Also run the watch daemon on the inbox (as `indexer watch`).")
    ] = False,
    host: Annotated[
        str | None, typer.Option(help="Address to serve on (default: INDEXER_API__HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: INDEXER_API__PORT, 8000).")] = None,
) -> None:
    """Serve the review page at / and the JSON API at /api (documented at /docs)."""
    import uvicorn

    from indexer.preflight import check_pipeline
    from indexer.server import check_bind, create_app

    loaded = settings()
    host = host or loaded.api.host
    port = port or loaded.api.port
    check_bind(host, loaded)
    inbox.mkdir(parents=True, exist_ok=True)
    if watch:
        check_pipeline(loaded)
        upload_dir = loaded.api.upload_dir
        if upload_dir is not None and upload_dir.resolve() != inbox.resolve():
            log.warning(
                "uploads go to %s (INDEXER_API__UPLOAD_DIR) but --watch watches %s: run a daemon there too",
                upload_dir,
                inbox,
            )
    app = create_app(loaded, inbox=inbox)
    # Validate up front: Elasticsearch reachable and the alias there, before anyone connects.
    app.state.context.client()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"review page: http://{shown}:{port}/  (API: /api, OpenAPI: /docs); Ctrl-C to stop", err=True)
    if not watch:
        server.run()
        return
    _serve_and_watch(server, inbox, loaded)


def _serve_and_watch(server: uvicorn.Server, inbox: Path, loaded: Settings) -> None:
    """uvicorn in a thread, the daemon in the main thread (its workers and signals need it)."""
    from indexer.watch.daemon import WatchDaemon

    daemon = WatchDaemon(inbox, loaded, verbosity=STATE.verbosity)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)

    def _stop(signum: int, frame: FrameType | None) -> None:
        server.should_exit = True
        daemon.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    thread.start()
    typer.echo(f"watching {daemon.folder} (quarantine: {daemon.quarantine})", err=True)
    try:
        daemon.run()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def register(app: typer.Typer) -> None:
    app.command("serve", rich_help_panel=DAILY_USE)(serve)
