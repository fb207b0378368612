"""Commands that are part of the product but not built yet: each says so and exits non-zero."""

from __future__ import annotations

from collections.abc import Callable

import typer

from indexer.cli.common import handle_errors
from indexer.errors import NotBuiltError

__all__ = ["PENDING_COMMANDS", "register"]

#: Command name -> (one-line help, the capability that will build it).
PENDING_COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("Run files or folders through the pipeline and index their pages.", "the ingestion pipeline"),
    "pipeline": ("Print the effective processors and backends.", "the ingestion pipeline"),
    "bench": ("Time each processor against plain Tesseract.", "the ingestion pipeline"),
    "watch": ("Watch a folder and index every PDF dropped in it.", "the watch-folder daemon"),
    "status": ("Show the watch journal: counts per state and latest failures.", "the watch-folder daemon"),
    "reindex": ("Rebuild the index behind the alias without downtime.", "reindex"),
    "search": ("Search indexed pages from the terminal.", "search"),
    "kibana-setup": ("Import the Kibana saved objects.", "Kibana integration"),
    "detect": ("Find handwriting boxes on page images.", "the handwriting detector"),
    "train-detector": ("Train the handwriting detector.", "the handwriting detector"),
    "evaluate": (
        "Evaluate the handwriting detector (pixel precision/recall, AP).",
        "the handwriting detector",
    ),
    "ocr-handwriting": ("Read handwriting crops.", "handwriting OCR"),
    "train-htr": ("Train the CNN+BiLSTM+CTC handwriting recognizer.", "handwriting OCR"),
    "evaluate-ocr": ("Compare handwriting OCR engines on labelled crops.", "handwriting OCR"),
}


def _pending(name: str, capability: str) -> Callable[[], None]:
    @handle_errors
    def command() -> None:
        raise NotBuiltError(f"`indexer {name}` is not built yet (it comes with {capability})")

    return command


def register(app: typer.Typer, *, built: frozenset[str] = frozenset()) -> None:
    """Add a placeholder for every pending command that no module has built yet."""
    for name, (help_text, capability) in PENDING_COMMANDS.items():
        if name not in built:
            app.command(name, help=f"{help_text} (not built yet)")(_pending(name, capability))
