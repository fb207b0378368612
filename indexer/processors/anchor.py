"""MaskWithAnchors: blank each handwriting box and draw a 5-digit anchor token in it.

After the page OCR, each token found in the text marks where its handwriting belongs (the seed
paper's trick). Tokens start and end with 8 (`8ddd8`), are unique on the page, and are drawn in
a monospaced bold font that Tesseract reads reliably.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from indexer.config import AnchorSettings
from indexer.document import Box, Page, Span
from indexer.errors import DependencyError, ProcessingError

__all__ = [
    "BASELINE_SHARE",
    "TOKEN_PATTERN",
    "AnchorPainter",
    "MaskWithAnchors",
    "background_colour",
    "font_path",
]

TOKEN_PATTERN = re.compile(r"8\d{3}8")
_TOKEN_SPACE = 1000  # three free digits
# A narrow bold sans: Tesseract reads its digits as well as a monospaced font's (30 of 30 tokens
# at 22 px in our check), and five of them fit a box of initials (about 50 px at 22 px).
_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"),
)
_RING_PX = 8  # width of the band around a box sampled for the background colour
_MASK_MARGIN_PX = 6  # strokes often spill a little over a labelled box
_TOKEN_HEIGHT_SHARE = 0.7  # font size as a share of the box height
_REFERENCE_DPI = 200
BASELINE_SHARE = 0.15  # of the box height, from its bottom: room for descenders
_DIGIT_HEIGHT_SHARE = 0.72  # digit height / font size
_TOKEN_WIDTH_SHARE = 0.9  # of the box width
_INK = (20, 20, 20)
# Printed rules (`By: ________`) run out of a box; what is left of them beside the blank, crossed
# by spilled strokes, reads as garbage words. Runs of dark pixels at least this long (at 200 dpi)
# within this many box heights of the box are painted over too.
_RULE_MIN_PX = 40
_RULE_REACH_HEIGHTS = 3.0
_DARK = 128
# A printed line that a box's top or bottom edge cuts through (a cell's caption over the writing,
# `(Signature)` under it) is lost to the blank when its slice inside the box, plus the margin,
# covers most of its height. When ink runs across the edge and a blank gap parts it from the rest
# of the box within this share of the box's height, the blank stops at that gap instead.
_CUT_LINE_SHARE = 0.3
_CUT_LINE_PROBE_PX = 3  # rows just outside the edge that show a line running across it
_GAP_ROWS = 2  # blank rows that part a cut line from the writing


@lru_cache(maxsize=64)
def _font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px)


def font_path(configured: Path | None) -> Path:
    for candidate in (configured, *_FONT_CANDIDATES):
        if candidate is not None and candidate.is_file():
            return candidate
    raise DependencyError(
        "no font for anchor tokens; apt-get install fonts-liberation or set INDEXER_ANCHORS__FONT"
    )


def background_colour(image: np.ndarray, box: Box) -> tuple[int, int, int]:
    """The paper colour around a box: the median of the brighter half of a ring of pixels.

    Sampling only the brighter pixels ignores printed text and strokes crossing the ring, so the
    blanked box matches the scan's tint instead of leaving a white hole.
    """
    height, width = image.shape[:2]
    x0, y0 = max(box.x0 - _RING_PX, 0), max(box.y0 - _RING_PX, 0)
    x1, y1 = min(box.x1 + _RING_PX, width), min(box.y1 + _RING_PX, height)
    ring = np.ones((y1 - y0, x1 - x0), dtype=bool)
    ring[box.y0 - y0 : box.y1 - y0, box.x0 - x0 : box.x1 - x0] = False
    region = image[y0:y1, x0:x1][ring]
    if region.size == 0:
        return (255, 255, 255)
    luminance = region.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    bright = region[luminance >= np.median(luminance)]
    return tuple(int(value) for value in np.median(bright, axis=0))  # type: ignore[return-value]


def _token_origin(box: Box, font: ImageFont.FreeTypeFont) -> tuple[float, float]:
    """Where the token's baseline starts (centred horizontally).

    Handwriting sits on the printed line it belongs to and rises above it (signatures most), so
    the token goes on the box's lower part: near the printed baseline, Tesseract reads it as part
    of that line rather than as a block of its own.
    """
    centre_x = (box.x0 + box.x1) / 2
    baseline = box.y1 - BASELINE_SHARE * box.height
    cap_height = font.size * _DIGIT_HEIGHT_SHARE
    return centre_x, max(baseline, box.y0 + cap_height)


def _without_rules_beside(
    image: np.ndarray, boxes: Sequence[Box], papers: Sequence[tuple[int, int, int]], *, dpi: int
) -> np.ndarray:
    """A copy of the page with the horizontal rules that run out of each box painted as paper
    (`papers`: each box's background colour)."""
    import cv2

    out = image.copy()
    height, width = image.shape[:2]
    length = max(round(_RULE_MIN_PX * dpi / _REFERENCE_DPI), 8)
    for box, paper in zip(boxes, papers, strict=True):
        reach = round(_RULE_REACH_HEIGHTS * box.height)
        x0, x1 = max(box.x0 - reach, 0), min(box.x1 + reach, width)
        y0, y1 = box.y0, min(box.y1 + _MASK_MARGIN_PX, height)
        if x1 - x0 < length or y1 <= y0:
            continue
        grey = cv2.cvtColor(np.ascontiguousarray(out[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        dark = (grey < _DARK).astype(np.uint8)
        rules = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(rules, connectivity=8)
        touching = np.zeros_like(rules)
        for label in range(1, count):
            left, _, run, _, _ = (int(v) for v in stats[label])
            # Only rules that reach the box: underlined text further along the line stays.
            if left <= box.x1 - x0 + _MASK_MARGIN_PX and left + run >= box.x0 - x0 - _MASK_MARGIN_PX:
                touching[labels == label] = 1
        if touching.any():
            touching = cv2.dilate(touching, np.ones((3, 3), np.uint8))
            out[y0:y1, x0:x1][touching > 0] = paper
    return out


def _edges_clear_of_cut_lines(dark: np.ndarray, box: Box) -> tuple[int | None, int | None]:
    """The rows where the blank of `box` should start and end instead of its edges, or None.

    `dark` is the page's ink mask. An edge moves only when a line runs across it (ink in the rows
    just outside, within the box's columns) and blank rows part that line's slice from the rest of
    the box within `_CUT_LINE_SHARE` of its height: writing crossing the edge has no such gap.
    """
    # Ink per row over the box's rows and the probes beside them (row r is counts[r - first]).
    first = max(box.y0 - _CUT_LINE_PROBE_PX, 0)
    counts = dark[first : box.y1 + _CUT_LINE_PROBE_PX, box.x0 : box.x1].sum(axis=1)
    width = max(box.x1 - box.x0, 1)
    inked = max(3, round(0.01 * width))
    blank = max(1, round(0.002 * width))
    reach = max(round(_CUT_LINE_SHARE * box.height), 1)

    def gap_from(rows: range) -> int | None:
        run = 0
        for row in rows:
            run = run + 1 if counts[row - first] <= blank else 0
            if run == _GAP_ROWS:
                return row
        return None

    top = bottom = None
    above = counts[: box.y0 - first]
    if above.size and above.max() >= inked:
        row = gap_from(range(box.y0, min(box.y0 + reach, box.y1)))
        top = None if row is None else row - _GAP_ROWS + 1
    below = counts[box.y1 - first :]
    if below.size and below.max() >= inked:
        row = gap_from(range(box.y1 - 1, max(box.y1 - 1 - reach, box.y0), -1))
        bottom = None if row is None else row + _GAP_ROWS
    return top, bottom


class AnchorPainter:
    """Owns the anchor tokens of a page: chooses them, replaces those that collide with printed
    numbers, and paints them into a copy of the page (the only place span tokens are set)."""

    def __init__(self, settings: AnchorSettings) -> None:
        self._settings = settings
        self._font_path = font_path(settings.font)
        self._rng = np.random.default_rng(settings.seed)

    def assign(self, page: Page) -> None:
        """Give every span of the page a fresh token and paint the masked page.

        Sets each span's `anchor` and `anchor_box` and the page's `masked_image`.
        """
        for span, token in zip(page.spans, self.new_tokens(len(page.spans)), strict=True):
            span.anchor = token
        self._repaint(page)

    def reassign(self, page: Page, spans: Sequence[Span], *, seen: Iterable[str]) -> np.ndarray:
        """New tokens for `spans` (their tokens collided with print), avoiding every token in use and
        every token-like number `seen` on the page.

        Returns:
            The masked page, painted again (also in `page.masked_image`).
        """
        in_use = {span.anchor for span in page.spans if span.anchor}
        for span, token in zip(spans, self.new_tokens(len(spans), avoid=in_use | set(seen)), strict=True):
            span.anchor = token
        return self._repaint(page)

    def _repaint(self, page: Page) -> np.ndarray:
        if page.image is None:
            raise ProcessingError("the page has no image to mask", page=page.number)
        masked, blanked = self._paint(page.image, page.spans, dpi=page.dpi)
        for span, area in zip(page.spans, blanked, strict=True):
            span.anchor_box = area
        page.masked_image = masked
        return masked

    def new_tokens(self, count: int, *, avoid: Iterable[str] = ()) -> list[str]:
        """`count` distinct tokens `8ddd8`, none of them in `avoid`.

        Raises:
            ProcessingError: more boxes on one page than free tokens (1000 at most).
        """
        taken = set(avoid)
        free = [token for token in (f"8{n:03d}8" for n in range(_TOKEN_SPACE)) if token not in taken]
        if count > len(free):
            raise ProcessingError(
                f"{count} handwriting boxes on one page, but only {len(free)} free anchor tokens"
            )
        return [free[index] for index in self._rng.choice(len(free), size=count, replace=False)]

    def _token_font(self, box: Box, token: str, dpi: int) -> ImageFont.FreeTypeFont:
        scale = dpi / _REFERENCE_DPI
        smallest = round(self._settings.min_token_size_px * scale)
        largest = round(self._settings.max_token_size_px * scale)
        size = int(min(max(box.height * _TOKEN_HEIGHT_SHARE, smallest), largest))
        font = _font(self._font_path, size)
        while size > smallest and font.getlength(token) > box.width * _TOKEN_WIDTH_SHARE:
            size -= 1
            font = _font(self._font_path, size)
        return font

    def _paint(
        self, image: np.ndarray, spans: Sequence[Span], *, dpi: int
    ) -> tuple[np.ndarray, list[Box | None]]:
        """A copy of `image` with every span's box blanked and its anchor token drawn in it, and the
        area blanked for each span (None for a span without a token).

        A token wider or taller than its box (initials) blanks the area under the token as well.
        """
        import cv2

        boxes = [span.box for span in spans]
        papers = [background_colour(image, box) for box in boxes]
        masked = Image.fromarray(_without_rules_beside(image, boxes, papers, dpi=dpi))
        dark = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) < _DARK
        draw = ImageDraw.Draw(masked)
        height, width = image.shape[:2]
        areas: list[Box | None] = []
        for span, paper in zip(spans, papers, strict=True):
            if span.anchor is None:
                areas.append(None)
                continue
            top, bottom = _edges_clear_of_cut_lines(dark, span.box)
            # The token sits inside what is blanked, so a line kept clear of the blank stays clear.
            box = Box(
                span.box.x0,
                span.box.y0 if top is None else top,
                span.box.x1,
                span.box.y1 if bottom is None else bottom,
            )
            font = self._token_font(box, span.anchor, dpi)
            origin = _token_origin(box, font)
            text_box = draw.textbbox(origin, span.anchor, font=font, anchor="ms")
            blanked = Box(
                max(min(box.x0, int(text_box[0])) - _MASK_MARGIN_PX, 0),
                max(min(box.y0, int(text_box[1])) - (_MASK_MARGIN_PX if top is None else 0), 0),
                min(max(box.x1, int(text_box[2])) + _MASK_MARGIN_PX, width),
                min(max(box.y1, int(text_box[3])) + (_MASK_MARGIN_PX if bottom is None else 0), height),
            )
            draw.rectangle((blanked.x0, blanked.y0, blanked.x1 - 1, blanked.y1 - 1), fill=paper)
            areas.append(blanked)
            draw.text(origin, span.anchor, font=font, fill=_INK, anchor="ms")
        return np.asarray(masked), areas


class MaskWithAnchors:
    """Gives each span a token and fills `page.masked_image` for the page OCR."""

    name = "mask_with_anchors"

    def __init__(self, painter: AnchorPainter) -> None:
        self.painter = painter

    def describe(self) -> str:
        return f"{self.name}: 8ddd8 tokens on the local background"

    def __call__(self, page: Page) -> Page:
        if page.image is None:
            raise ProcessingError("the page has no image to mask", processor=self.name, page=page.number)
        self.painter.assign(page)
        return page
