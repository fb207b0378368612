"""Page images on disk: read one as RGB, draw detected boxes on one. Shared by the CLI and training."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from indexer.backends.base import Detection
from indexer.document import HandwritingKind
from indexer.errors import InputError

__all__ = ["draw_boxes", "read_rgb"]


def read_rgb(path: Path) -> np.ndarray:
    """An image file as (H, W, 3) uint8 RGB.

    Raises:
        InputError: the file is missing or not an image.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read image {path}", path=str(path))
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def draw_boxes(image: np.ndarray, detections: Sequence[Detection], path: Path) -> None:
    """Write the page (RGB) with its boxes drawn: signatures red, annotations blue."""
    colours = {HandwritingKind.SIGNATURE: (0, 0, 220), HandwritingKind.ANNOTATION: (220, 80, 0)}  # BGR
    canvas = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    for d in detections:
        cv2.rectangle(canvas, (d.box.x0, d.box.y0), (d.box.x1 - 1, d.box.y1 - 1), colours[d.kind], 3)
        cv2.putText(
            canvas, f"{d.kind} {d.score:.2f}", (d.box.x0, max(d.box.y0 - 6, 12)),
            cv2.FONT_HERSHEY_SIMPLEX, 0.6, colours[d.kind], 2,
        )  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), canvas)
