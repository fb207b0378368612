"""`indexer watch` and `indexer status`: the watch-folder daemon and its journal."""

from __future__ import annotations

import contextlib
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from indexer.cli.common import DAILY_USE, STATE, handle_errors, settings

if TYPE_CHECKING:
    from indexer.watch.journal import Journal

__all__ = ["register"]

_LATEST_FAILURES = 10


@handle_errors
def watch(
    folder: Annotated[Path, typer.Argument(help="The folder to watch (the inbox).")],
    recursive: Annotated[bool, typer.Option("--recursive", help="Also watch sub-folders.")] = False,
    polling: Annotated[
        bool,
        typer.Option("--polling", help="Poll instead of change events (network shares, Docker volumes)."),
    ] = False,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: CPU cores).")] = None,
) -> None:
    """Watch a folder and index every document dropped in it; bad files go to .quarantine/."""
    from indexer.preflight import check_pipeline
    from indexer.search import connect
    from indexer.watch.daemon import WatchDaemon

    loaded = settings()
    overrides: dict[str, object] = {
        "recursive": recursive or loaded.watch.recursive,
        "polling": polling or loaded.watch.polling,
    }
    if workers is not None:
        overrides["workers"] = workers
    loaded = loaded.model_copy(update={"watch": loaded.watch.model_copy(update=overrides)})
    # Validate up front, in this process: what the workers need, and the cluster (or the local
    # node), before any worker loads a model.
    check_pipeline(loaded)
    connect(loaded).close()
    daemon = WatchDaemon(folder, loaded, verbosity=STATE.verbosity)

    def _stop(signum: int, frame: FrameType | None) -> None:
        daemon.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo(
        f"watching {daemon.folder} (quarantine: {daemon.quarantine}); Ctrl-C to stop, twice to stop now",
        err=True,
    )
    daemon.run()


@handle_errors
def status(
    folder: Annotated[
        Path | None, typer.Argument(help="Only this watched folder (default: every folder in the journal).")
    ] = None,
) -> None:
    """Counts per state, the files in progress, and the latest failures with their reasons."""
    from indexer.watch.journal import Journal

    loaded = settings()
    if not loaded.journal_path.is_file():
        typer.echo(f"no journal at {loaded.journal_path}: `indexer watch` has not run with these settings")
        raise typer.Exit(1)
    with contextlib.closing(Journal(loaded.journal_path)) as everything:
        folders = [str(folder.resolve())] if folder is not None else everything.folders()
    for name in folders:
        with contextlib.closing(Journal(loaded.journal_path, folder=Path(name))) as journal:
            _print_folder(name, journal)


def _print_folder(name: str, journal: Journal) -> None:
    from indexer.watch.journal import FileState, is_owner_alive

    counts = journal.counts()
    typer.echo(f"{name}: " + ", ".join(f"{state.value} {counts.get(state.value, 0)}" for state in FileState))
    for entry in journal.entries(state=FileState.PROCESSING):
        if is_owner_alive(entry.owner):
            since = time.time() - entry.updated_at
            typer.echo(f"  in progress: {entry.path} ({since:.0f} s, attempt {entry.attempts})")
        else:
            typer.echo(f"  interrupted: {entry.path} (its daemon is gone; queued again when it restarts)")
    failures = [
        entry for entry in journal.entries() if entry.state in (FileState.FAILED, FileState.QUARANTINED)
    ][:_LATEST_FAILURES]
    for entry in failures:
        when = datetime.fromtimestamp(entry.updated_at, UTC).isoformat(timespec="seconds")
        typer.echo(f"  {entry.state.value}: {entry.path} at {when}: {entry.error}")


def register(app: typer.Typer) -> None:
    app.command("watch", rich_help_panel=DAILY_USE)(watch)
    app.command("status", rich_help_panel=DAILY_USE)(status)
