"""Copy-paste augmentation: real handwriting cut from one labelled page and written onto another.

The detector trains on a few dozen real pages, so each page's fields are seen in one place, on
one form, beside one label. Pasting the labelled boxes of the training pages onto other pages
(Ghiasi et al., "Simple Copy-Paste is a Strong Data Augmentation Method", CVPR 2021) shows the net
the same writing in new places: in blank margins, on other forms' blanks and, now and then, over
printed lines. Only training pages are cut from, so no held-out document leaks in.

A cut keeps its pixels as they are, print inside a loose box included; its paper is lifted to
white first and it is laid on with the darker of the two pixels, so the page's print under it
stays, as ink on paper does.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from indexer.document import Box
from indexer.training.data.voc import LabelledBox

__all__ = ["PasteSource", "paste_handwriting"]

_DARK = 160
#: A blank spot: at most this share of its pixels dark (a rule or a letter may touch it).
_BLANK_DARK_SHARE = 0.02
#: Share of pastes allowed over printed lines (the writing over a print line that the net misses).
_OVER_PRINT_SHARE = 0.25
_OVER_PRINT_DARK_SHARE = 0.3
_TRIES = 30
_SCALE_RANGE = (0.8, 1.25)
#: Cuts taller than this share of the page (whole signature blocks) are not pasted.
_MAX_HEIGHT_SHARE = 0.12
_CLEARANCE_PX = 4  # kept between a pasted box and any other box, in the grey's pixels


class PasteSource:
    """The cuts available for pasting: each labelled box of some pages, from their grey copies.

    `greys` are the pages' grey images and `boxes` their labelled boxes, both at `factor` of the
    original pixels (the training pages are kept at half resolution).
    """

    def __init__(self, greys: Sequence[np.ndarray], boxes: Sequence[Sequence[LabelledBox]], factor: float):
        self.cuts: list[tuple[np.ndarray, LabelledBox]] = []
        for grey, labelled in zip(greys, boxes, strict=True):
            height, width = grey.shape[:2]
            for item in labelled:
                box = item.box.scaled(factor).clipped(width, height)
                if box.width < 4 or box.height < 4 or box.height > _MAX_HEIGHT_SHARE * height:
                    continue
                cut = grey[box.y0 : box.y1, box.x0 : box.x1]
                self.cuts.append((_white_paper(cut), item))
        self.factor = factor

    def __len__(self) -> int:
        return len(self.cuts)


def _white_paper(cut: np.ndarray) -> np.ndarray:
    """The cut with its paper (its bright pixels) lifted to white, so only the ink darkens a page."""
    paper = max(float(np.percentile(cut, 90)), 1.0)
    lifted: np.ndarray = np.clip(cut.astype(np.float32) * (255.0 / paper), 0, 255).astype(np.uint8)
    return lifted


def paste_handwriting(
    grey: np.ndarray,
    boxes: Sequence[LabelledBox],
    source: PasteSource,
    rng: np.random.Generator,
    *,
    count: int,
) -> tuple[np.ndarray, list[LabelledBox]]:
    """A copy of `grey` (at `source.factor` of the original pixels) with up to `count` cuts pasted
    where they overlap no labelled box, and the boxes with the pasted ones added (original pixels).

    A cut lands on a blank spot; a quarter of them may also land on printed lines. A cut that finds
    no such spot in a few tries is left out, so a crowded page gets fewer.
    """
    out = grey.copy()
    height, width = out.shape[:2]
    factor = source.factor
    taken = [item.box.scaled(factor) for item in boxes]
    labelled = list(boxes)
    for _ in range(count if len(source) else 0):
        cut, item = source.cuts[int(rng.integers(len(source)))]
        scale = float(rng.uniform(*_SCALE_RANGE))
        cut_h = max(round(cut.shape[0] * scale), 2)
        cut_w = max(round(cut.shape[1] * scale), 2)
        if cut_h >= height or cut_w >= width:
            continue
        cut = cv2.resize(cut, (cut_w, cut_h), interpolation=cv2.INTER_AREA)
        limit = _OVER_PRINT_DARK_SHARE if rng.random() < _OVER_PRINT_SHARE else _BLANK_DARK_SHARE
        spot = _find_spot(out, taken, cut_w, cut_h, limit, rng)
        if spot is None:
            continue
        region = out[spot.y0 : spot.y1, spot.x0 : spot.x1]
        np.minimum(region, cut, out=region)
        taken.append(spot)
        labelled.append(LabelledBox(item.kind, spot.scaled(1.0 / factor)))
    return out, labelled


def _find_spot(
    grey: np.ndarray,
    taken: Sequence[Box],
    cut_w: int,
    cut_h: int,
    dark_limit: float,
    rng: np.random.Generator,
) -> Box | None:
    height, width = grey.shape[:2]
    for _ in range(_TRIES):
        x0 = int(rng.integers(0, width - cut_w + 1))
        y0 = int(rng.integers(0, height - cut_h + 1))
        spot = Box(x0, y0, x0 + cut_w, y0 + cut_h)
        padded = spot.grown(_CLEARANCE_PX)
        if any(padded.intersection(box) > 0 for box in taken):
            continue
        if float(np.mean(grey[spot.y0 : spot.y1, spot.x0 : spot.x1] < _DARK)) <= dark_limit:
            return spot
    return None
