"""Synthetic lease-contract pages with handwriting at known boxes, for training and tests.

A page is printed serif text in paragraphs, with blanks filled INLINE by handwriting (dates,
amounts, names, titles, addresses, initials) rendered with Debian's handwriting fonts, and
signature blocks signed with smooth random pen scribbles or, as many real signatures are, a name
written large in a handwriting font. Every handwritten item sits between two
printed words of its line, and its box is tight around its own ink. The render is clean; add
scan noise with `scan_effects`.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from indexer.document import Box, HandwritingKind
from indexer.errors import DependencyError
from indexer.training.data import fillers
from indexer.training.data.augment import scan_effects

__all__ = [
    "HandwrittenItem",
    "PrintedWord",
    "SyntheticPage",
    "handwriting_fonts",
    "printed_fonts",
    "render_page",
    "scan_effects",
]

log = logging.getLogger(__name__)

#: Debian packages that provide the handwriting fonts (named in errors and the Makefile). The
#: pages keep these four, so a seed keeps giving the pages the tests were measured on; the
#: recognizer's crops draw from more (`htr_synthetic.HANDWRITING_FONT_PACKAGES`).
PAGE_FONT_PACKAGES = ("fonts-dkg-handwriting", "fonts-breip", "fonts-femkeklaver", "fonts-humor-sans")
_KNOWN_HANDWRITING_FONTS = (
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    "/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf",
    "/usr/share/fonts/truetype/fifthhorseman/dkgBd.ttf",
    "/usr/share/fonts/truetype/breip/Breip.ttf",
    "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
)
_HANDWRITING_FAMILIES = ("dkghandwriting", "breip", "femkeklaver", "humor sans")
_KNOWN_PRINTED_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed.ttf",
)
_PRINTED_FONT_PACKAGES = ("fonts-dejavu-core", "fonts-liberation")
_INK_COLOURS_RGB = ((20, 20, 25), (25, 35, 120), (10, 40, 90), (45, 45, 60))
_PRINT_RGB = (15, 15, 15)
_INK_THRESHOLD = 96  # alpha level above which a layer pixel counts as ink for the tight box


@dataclass(frozen=True, slots=True)
class PrintedWord:
    """One printed word and its box in page pixels."""

    text: str
    box: Box


@dataclass(frozen=True, slots=True)
class HandwrittenItem:
    """One handwritten field; `text` is empty for signatures. `box` is tight around the ink."""

    kind: HandwritingKind
    text: str
    box: Box


@dataclass(slots=True)
class SyntheticPage:
    """A clean rendered page and its content in reading order."""

    image: np.ndarray  # (height, width, 3) uint8 RGB
    lines: list[list[PrintedWord | HandwrittenItem]]
    dpi: int = 200

    @property
    def handwriting(self) -> list[HandwrittenItem]:
        return [item for line in self.lines for item in line if isinstance(item, HandwrittenItem)]


def _fc_list_paths() -> list[Path]:
    try:
        listing = subprocess.run(
            ["fc-list", ":", "file", "family"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for row in listing.splitlines():
        path, _, family = row.partition(":")
        if any(name in family.lower() for name in _HANDWRITING_FAMILIES):
            found.append(Path(path.strip()))
    return found


@lru_cache(maxsize=1)
def _handwriting_fonts() -> tuple[Path, ...]:
    paths = {Path(p) for p in _KNOWN_HANDWRITING_FONTS if Path(p).is_file()}
    paths.update(p for p in _fc_list_paths() if p.suffix.lower() in {".ttf", ".otf"} and p.is_file())
    return tuple(sorted(paths))


def handwriting_fonts() -> list[Path]:
    """Handwriting font files on this machine, sorted (so a seed gives the same pages).

    Raises:
        DependencyError: none is installed; the message names the Debian packages.
    """
    fonts = list(_handwriting_fonts())
    if not fonts:
        raise DependencyError(
            "no handwriting fonts found; install the Debian packages " + ", ".join(PAGE_FONT_PACKAGES)
        )
    return fonts


def printed_fonts() -> list[Path]:
    """Serif fonts for the printed text.

    Raises:
        DependencyError: none is installed; the message names the Debian packages.
    """
    fonts = [Path(p) for p in _KNOWN_PRINTED_FONTS if Path(p).is_file()]
    if not fonts:
        raise DependencyError(
            "no serif fonts found; install the Debian packages " + ", ".join(_PRINTED_FONT_PACKAGES)
        )
    return fonts


@lru_cache(maxsize=256)
def _font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px)


class _Canvas:
    """The page being drawn: a grey-free RGB PIL image plus a cursor in page pixels."""

    def __init__(self, width_px: int, height_px: int, rng: np.random.Generator) -> None:
        paper = int(rng.integers(240, 256))
        self.image = Image.new("RGB", (width_px, height_px), (paper, paper, paper - int(rng.integers(0, 6))))
        self.draw = ImageDraw.Draw(self.image)
        self.width = width_px
        self.height = height_px
        #: What each pasted ink layer covered, by the ink's box, so it can be taken back exactly.
        self._covered: dict[Box, tuple[Image.Image, int, int]] = {}

    def print_word(
        self, text: str, x: int, baseline: int, font: ImageFont.FreeTypeFont
    ) -> PrintedWord | None:
        left, top, right, bottom = (int(v) for v in font.getbbox(text, anchor="ls"))
        box = Box(x + left, baseline + top, x + max(right, left + 1), baseline + max(bottom, top + 1))
        if box.x1 > self.width or box.y1 > self.height:
            return None
        self.draw.text((x, baseline), text, font=font, fill=_PRINT_RGB, anchor="ls")
        return PrintedWord(text, box)

    def paste_ink(self, alpha: np.ndarray, x: int, top: int, colour: tuple[int, int, int]) -> Box | None:
        """Blend an ink layer (uint8 alpha, ink > 0) at (x, top); its tight box, or None if off-page."""
        rows = np.flatnonzero((alpha > _INK_THRESHOLD).any(axis=1))
        cols = np.flatnonzero((alpha > _INK_THRESHOLD).any(axis=0))
        if rows.size == 0 or x < 0 or top < 0:
            return None
        height, width = alpha.shape
        if x + width > self.width or top + height > self.height:
            return None
        before = self.image.crop((x, top, x + width, top + height))
        region = np.asarray(before, dtype=np.float32)
        weight = (alpha.astype(np.float32) / 255.0)[..., None]
        blended = region * (1 - weight) + np.array(colour, np.float32) * weight
        self.image.paste(Image.fromarray(blended.astype(np.uint8)), (x, top))
        box = Box(x + int(cols[0]), top + int(rows[0]), x + int(cols[-1]) + 1, top + int(rows[-1]) + 1)
        self._covered[box] = (before, x, top)
        return box

    def take_back(self, box: Box) -> None:
        """Undo the paste whose ink box is `box`, restoring the pixels it covered.

        Painting paper over the box instead would also wipe whatever the ink's box reaches into
        on the lines above (printed words, earlier handwriting), which the page's truth still lists.
        """
        before, x, top = self._covered.pop(box)
        self.image.paste(before, (x, top))


def _handwriting_layer(text: str, size_px: int, rng: np.random.Generator) -> np.ndarray:
    """Text in a random handwriting font as an alpha layer, slanted and slightly wavy."""
    fonts = handwriting_fonts()
    font = _font(fonts[int(rng.integers(len(fonts)))], size_px)
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    margin = size_px
    layer = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 0)
    stroke = int(rng.integers(0, 2)) if size_px > 40 else 0
    ImageDraw.Draw(layer).text((margin - left, margin - top), text, font=font, fill=255, stroke_width=stroke)
    alpha = np.asarray(layer)
    shear = float(rng.uniform(-0.35, 0.15))
    height, width = alpha.shape
    matrix = np.array([[1.0, shear, -shear * height / 2], [0.0, 1.0, 0.0]], np.float32)
    angle_rad = float(rng.uniform(-0.04, 0.04))
    matrix[1, 0] = angle_rad
    return cv2.warpAffine(alpha, matrix, (width, height), flags=cv2.INTER_LINEAR)


def _scribble_layer(width_px: int, height_px: int, rng: np.random.Generator) -> np.ndarray:
    """A signature-like scribble: a smooth random pen path with loops, as an alpha layer."""
    canvas = np.zeros((height_px, width_px), np.uint8)
    strokes = int(rng.integers(1, 4))
    thickness = int(rng.integers(2, 5))
    for stroke in range(strokes):
        points = int(rng.integers(6, 16))
        t = np.linspace(0, 1, points * 12)
        x_knots = np.sort(rng.uniform(0.05, 0.95, points)) if stroke == 0 else rng.uniform(0.05, 0.95, points)
        y_knots = rng.uniform(0.15, 0.85, points)
        knots = np.linspace(0, 1, points)
        xs = np.interp(t, knots, x_knots) + 0.03 * np.sin(t * rng.uniform(20, 60))
        ys = np.interp(t, knots, y_knots) + 0.12 * np.sin(t * rng.uniform(15, 45) + rng.uniform(0, 6))
        path = np.stack([xs * (width_px - 1), np.clip(ys, 0.02, 0.98) * (height_px - 1)], axis=1)
        cv2.polylines(canvas, [path.astype(np.int32)], False, 255, thickness, lineType=cv2.LINE_AA)
    return canvas


def _signature_layer(size_px: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A signature: a pen scribble, or a name written large in a handwriting font, half of them
    with a flourish under it. Returns the alpha layer and the share of it to place above the line.

    Real signatures are often legible names. With scribbles only, a detector learnt that legible
    cursive is an annotation and called such signatures annotations; with names on both the
    signature line and the `Name:` line, where the name stands decides its class.
    """
    if rng.random() < 0.5:
        scribble = _scribble_layer(int(rng.integers(200, 520)), int(rng.integers(60, 140)), rng)
        return scribble, float(rng.uniform(0.55, 0.9))
    # The text layer has a margin of one font size around the ink: placed like annotations.
    alpha = _handwriting_layer(fillers.name(rng), round(size_px * float(rng.uniform(1.6, 2.6))), rng)
    if rng.random() < 0.5:
        third = alpha.shape[0] // 3
        flourish = _scribble_layer(alpha.shape[1], max(third // 2, 8), rng)
        top = 2 * third - flourish.shape[0] // 2  # centred on the baseline region
        alpha[top : top + flourish.shape[0]] |= flourish
    return alpha, float(rng.uniform(0.55, 0.72))


class _PageWriter:
    """Lays out paragraphs and signature blocks top to bottom."""

    def __init__(self, canvas: _Canvas, rng: np.random.Generator, dpi: int) -> None:
        self.canvas = canvas
        self.rng = rng
        point_size = float(rng.uniform(9.5, 12.0))
        self.size_px = round(point_size / 72 * dpi)
        fonts = printed_fonts()
        self.font = _font(fonts[int(rng.integers(len(fonts)))], self.size_px)
        self.margin = int(rng.integers(int(0.06 * canvas.width), int(0.12 * canvas.width)))
        self.line_step = round(self.size_px * float(rng.uniform(1.25, 1.6)))
        self.y = int(rng.integers(int(0.05 * canvas.height), int(0.09 * canvas.height))) + self.size_px
        self.lines: list[list[PrintedWord | HandwrittenItem]] = []

    @property
    def bottom(self) -> int:
        return self.canvas.height - 2 * self.margin // 3

    def _handwriting(self, kind: HandwritingKind, text: str, x: int) -> tuple[HandwrittenItem, int] | None:
        rng = self.rng
        colour = _INK_COLOURS_RGB[int(rng.integers(len(_INK_COLOURS_RGB)))]
        if kind is HandwritingKind.SIGNATURE:
            alpha, above = _signature_layer(self.size_px, rng)
            top = self.y - int(alpha.shape[0] * above)
        else:
            alpha = _handwriting_layer(text, round(self.size_px * float(rng.uniform(1.0, 1.7))), rng)
            top = self.y - int(alpha.shape[0] * rng.uniform(0.55, 0.72))
        box = self.canvas.paste_ink(alpha, x, max(top, 0), colour)
        if box is None:
            return None
        return HandwrittenItem(kind, text, box), box.x1

    def _print_run(self, words: list[str], x: int, line: list[PrintedWord | HandwrittenItem]) -> int:
        space = self.size_px // 3
        for word in words:
            placed = self.canvas.print_word(word, x, self.y, self.font)
            if placed is None or placed.box.x1 > self.canvas.width - self.margin:
                break
            line.append(placed)
            x = placed.box.x1 + space
        return x

    def paragraph(self) -> None:
        """A few justified-ish lines, some with an inline handwritten blank."""
        for _ in range(int(self.rng.integers(2, 7))):
            if self.y + self.line_step > self.bottom:
                return
            line: list[PrintedWord | HandwrittenItem] = []
            x = self._print_run(fillers.sentence(self.rng, 3, 6), self.margin, line)
            if self.rng.random() < 0.35:
                kind = HandwritingKind.ANNOTATION
                made = self._handwriting(kind, fillers.field_text(self.rng), x + self.size_px // 2)
                if made is not None:
                    line.append(made[0])
                    x = made[1] + self.size_px // 2
            self._print_run(fillers.sentence(self.rng, 8, 16), x, line)
            self._keep(line)
            self.y += self.line_step
        self.y += self.line_step // 2

    def signature_block(self) -> None:
        """`By: ____ Date: ____` with a scribble, then optionally a handwritten name under it."""
        self.y += int(self.line_step * self.rng.uniform(1.5, 2.5))
        if self.y + 3 * self.line_step > self.bottom:
            return
        line: list[PrintedWord | HandwrittenItem] = []
        x = self._print_run([str(self.rng.choice(fillers.SIGNATURE_LABELS))], self.margin, line)
        rule_end = x + int(self.rng.integers(420, 620))
        self.canvas.draw.line((x, self.y + 4, rule_end, self.y + 4), fill=_PRINT_RGB, width=2)
        made = self._handwriting(HandwritingKind.SIGNATURE, "", x + int(self.rng.integers(0, 60)))
        if made is not None:
            line.append(made[0])
        x = self._print_run(["Date:"], max(rule_end, made[1] if made else 0) + self.size_px, line)
        if self.rng.random() < 0.7:
            date = self._handwriting(
                HandwritingKind.ANNOTATION, fillers.date(self.rng), x + self.size_px // 2
            )
            if date is not None:
                line.append(date[0])
                self._print_run(["(seal)"], date[1] + self.size_px, line)
        self._keep(line)
        self.y += self.line_step
        if self.rng.random() < 0.6:
            self.y += self.line_step // 2
            self._name_line()
        self.y += self.line_step

    def footer(self) -> None:
        """The page footer with initials boxes (`Gov't: __ Lessor: __`), labelled as signatures."""
        self.y = self.canvas.height - self.margin // 2 - int(self.rng.integers(0, self.margin // 3 + 1))
        line: list[PrintedWord | HandwrittenItem] = []
        x = self._print_run(
            ["LEASE", "NO.", f"GS-{int(self.rng.integers(10, 99))}B", "Gov't:"], self.margin, line
        )
        for label in ("Lessor:", "FORM"):
            made = self._initials(x + self.size_px // 2)
            if made is not None:
                line.append(made[0])
                x = made[1] + self.size_px // 2
            x = self._print_run([label], x, line)
        self._keep(line)

    def _initials(self, x: int) -> tuple[HandwrittenItem, int] | None:
        alpha = _scribble_layer(int(self.rng.integers(60, 140)), int(self.rng.integers(35, 80)), self.rng)
        top = max(self.y - int(alpha.shape[0] * self.rng.uniform(0.6, 0.9)), 0)
        box = self.canvas.paste_ink(
            alpha, x, top, _INK_COLOURS_RGB[int(self.rng.integers(len(_INK_COLOURS_RGB)))]
        )
        return None if box is None else (HandwrittenItem(HandwritingKind.SIGNATURE, "", box), box.x1)

    def _name_line(self) -> None:
        line: list[PrintedWord | HandwrittenItem] = []
        x = self._print_run(["Name:"], self.margin, line)
        made = self._handwriting(HandwritingKind.ANNOTATION, fillers.name(self.rng), x + self.size_px // 2)
        if made is not None:
            line.append(made[0])
            self._print_run(["Title:", *fillers.sentence(self.rng, 1, 3)], made[1] + self.size_px, line)
        self._keep(line)
        self.y += self.line_step

    def _keep(self, line: list[PrintedWord | HandwrittenItem]) -> None:
        # Every handwritten item must sit between two printed words; one left at the end of a
        # line (its follower fell off the page) is painted over rather than kept unlabelled.
        while line:
            last = line[-1]
            if not isinstance(last, HandwrittenItem):
                break
            self._erase(last)
            line.pop()
        if line:
            self.lines.append(line)

    def _erase(self, item: HandwrittenItem) -> None:
        self.canvas.take_back(item.box)


def render_page(
    rng: np.random.Generator, *, width_px: int = 1700, height_px: int = 2200, dpi: int = 200
) -> SyntheticPage:
    """One clean synthetic lease page, deterministic for the generator's state.

    Raises:
        DependencyError: the handwriting or serif fonts are not installed.
    """
    writer = _PageWriter(_Canvas(width_px, height_px, rng), rng, dpi)
    while writer.y + 4 * writer.line_step < writer.bottom:
        if rng.random() < 0.3:
            writer.signature_block()
        else:
            writer.paragraph()
    if rng.random() < 0.5:
        writer.footer()
    image = np.asarray(writer.canvas.image, dtype=np.uint8).copy()
    return SyntheticPage(image=image, lines=writer.lines, dpi=dpi)
