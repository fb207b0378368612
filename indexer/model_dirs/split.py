"""A model folder's `split.json`: the hold-out rule and the documents on each side of it.

`train-detector` writes it; `evaluate`, the refiner and the calibration read it so that a model
is only ever scored on documents it never saw. A document is a page's file stem before its last
`-N` (`lease-12-3.jpg` is page 3 of `lease-12`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import InputError

__all__ = ["SPLIT_FILE", "SplitRecord", "document_of", "read_split", "stems_trained_on", "write_split"]

SPLIT_FILE = "split.json"


def document_of(stem_or_name: str) -> str:
    """`abc-def-3.jpg` -> `abc-def`: the stem before the last `-N`."""
    stem = stem_or_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    head, sep, tail = stem.rpartition("-")
    return head if sep and tail.isdigit() else stem


@dataclass(frozen=True, slots=True)
class SplitRecord:
    """A model folder's `split.json`: its hold-out rule and the documents on each side."""

    hold_out: str
    train_documents: frozenset[str]
    held_out_documents: frozenset[str]


def read_split(model_dir: Path) -> SplitRecord | None:
    """A model folder's `split.json`, or None when it has none (models trained before it existed).

    Raises:
        InputError: the file is there but is not a split record.
    """
    path = Path(model_dir) / SPLIT_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SplitRecord(
            str(data["hold_out"]), frozenset(data["train_documents"]), frozenset(data["held_out_documents"])
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path} is not a split record written by train-detector: {exc!r}", path=str(path)
        ) from exc


def stems_trained_on(model_dir: Path, stems: Sequence[str]) -> list[str]:
    """The page stems whose documents the model in `model_dir` trained on (per its split.json)."""
    record = read_split(model_dir)
    trained = record.train_documents if record else frozenset()
    return [stem for stem in stems if document_of(stem) in trained]


def write_split(
    out_dir: Path, hold_out: str, *, train_documents: Iterable[str], held_out_documents: Iterable[str]
) -> None:
    """`split.json`: the hold-out rule and the documents on each side (what `evaluate` checks)."""
    record = {
        "hold_out": hold_out,
        "train_documents": sorted(set(train_documents)),
        "held_out_documents": sorted(set(held_out_documents)),
    }
    (out_dir / SPLIT_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
