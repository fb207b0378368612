"""The one progress callback every trainer and evaluator takes; the CLI draws it as bars."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressCallback"]

#: `(stage, done, total, message)`: one bar per stage; `total` is an estimate when a run stops
#: on a time budget.
ProgressCallback = Callable[[str, int, int, str], None]
