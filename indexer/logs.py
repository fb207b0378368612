"""Logging and progress bars: the only module that touches handlers or rich.

The library logs through `logging.getLogger(__name__)` and reports progress through callbacks;
the CLI calls `configure_logging()` once and draws bars with `progress()`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["configure_logging", "console", "progress"]

# One console on stderr shared by log records and progress bars, so bars never tear log lines.
console = Console(stderr=True)

_CHATTY_LOGGERS = (
    "elastic_transport",
    "elasticsearch",
    "urllib3",
    "httpx",
    "httpcore",
    "PIL",
    "matplotlib",
    "tensorflow",
    "absl",
    "h5py",
    "watchdog",
    "pikepdf",
)


def configure_logging(verbosity: int = 0) -> None:
    """Send log records to stderr: WARNING by default, INFO with -v, DEBUG with -vv.

    Third-party loggers stay at WARNING unless -vvv is given.
    """
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    # TensorFlow's C++ side logs to stderr before Python logging exists; only this variable,
    # read when TensorFlow loads, quiets it. It is the one environment change we make.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if verbosity < 3 else "0")
    handler = RichHandler(
        console=console,
        show_path=verbosity >= 2,
        show_time=True,
        rich_tracebacks=verbosity >= 1,
        markup=False,
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 3 else logging.WARNING)


def _bars_enabled(enabled: bool) -> bool:
    return enabled and sys.stderr.isatty()


@contextmanager
def progress(*, enabled: bool = True) -> Iterator[Progress]:
    """A rich progress display on the shared console; silent when stderr is not a TTY."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not _bars_enabled(enabled),
        transient=False,
    )
    with bar:
        yield bar
