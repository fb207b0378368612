"""A detector folder's `calibration.json`: the decoding settings `calibrate-detector` chose and why.

The chosen settings themselves are applied to `detector.json`; this record keeps the scores of
every candidate on the held-out pages, so the choice can be checked and repeated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CALIBRATION_FILE", "read_calibration", "write_calibration"]

CALIBRATION_FILE = "calibration.json"


def write_calibration(model_dir: Path, record: dict[str, Any]) -> None:
    (model_dir / CALIBRATION_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_calibration(model_dir: Path) -> dict[str, Any] | None:
    """The record, or None when the folder was never calibrated."""
    path = model_dir / CALIBRATION_FILE
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
