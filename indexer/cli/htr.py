"""Placeholder: this command group is being built; `register` adds its commands to the app."""

from __future__ import annotations

import typer

__all__ = ["BUILT", "register"]

#: Names of the commands this module builds (they replace the pending placeholders).
BUILT: frozenset[str] = frozenset()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `indexer` app."""
