"""What every command shares: global options, settings loading and the error-to-exit-code map."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.text import Text

from indexer.config import Settings, load_settings
from indexer.errors import ExitCode, IndexerError
from indexer.logs import console

__all__ = ["DAILY_USE", "ELASTICSEARCH", "MODELS", "STATE", "handle_errors", "progress_callback", "settings"]

log = logging.getLogger("indexer.cli")

#: The `indexer --help` panels, in the order they appear: what users do first comes first.
DAILY_USE = "Daily use"
MODELS = "Models"
ELASTICSEARCH = "Elasticsearch and Kibana"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _GlobalOptions:
    verbosity: int = 0
    config_file: Path | None = None


STATE = _GlobalOptions()


def settings() -> Settings:
    """Load the settings once per command, from `--config` and the environment."""
    return load_settings(STATE.config_file)


def progress_callback(bar: Any) -> Callable[[str, int, int, str], None]:
    """An `on_progress(stage, done, total, message)` for the library that draws one task per stage
    on `bar` (from `logs.progress()`)."""
    tasks: dict[str, Any] = {}

    def on_progress(stage: str, done: int, total: int, message: str) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, description=f"{stage} {message}".strip())

    return on_progress


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """The one place that turns errors into a one-line message and an exit code.

    A traceback is shown only with -v; unexpected errors are reported as such.
    """

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except IndexerError as exc:
            console.print(Text.assemble(("error: ", "bold red"), exc.message), soft_wrap=True)
            if STATE.verbosity:
                log.exception("details")
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt:
            console.print("interrupted")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            console.print(
                Text.assemble(
                    ("unexpected error: ", "bold red"),
                    f"{type(exc).__name__}: {exc} (run with -v for the traceback)",
                ),
                soft_wrap=True,
            )
            if STATE.verbosity:
                log.exception("details")
            raise typer.Exit(ExitCode.FAILURE) from exc

    return wrapper
