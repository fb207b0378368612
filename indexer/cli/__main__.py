"""`python -m indexer.cli`: the same as the `indexer` command."""

from __future__ import annotations

from indexer.cli import main

main()
