"""Synthetic handwriting crops: contract text in Debian's handwriting fonts, made to look scanned.

Each sample imitates a labelled box of contracts-dev: loose margins, a form line under the
text, bits of printed labels cut by the box, slant, stroke width, elastic distortion, blur,
noise and ink variation. `augment` applies the image-level part to real crops as well.
"""

from __future__ import annotations

import logging
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from indexer.errors import DependencyError
from indexer.training.htr.text import random_text

__all__ = [
    "HANDWRITING_FONT_DIRS",
    "HANDWRITING_FONT_PACKAGES",
    "SyntheticGenerator",
    "augment",
    "draws_contract_text",
    "find_fonts",
]

log = logging.getLogger(__name__)

#: Debian packages with handwriting fonts, and the folders they install them to. Recognizers
#: learn the writers they are shown: the first four packages (8 fonts) gave a model that read
#: held-out synthetic crops at CER 0.06 but real ones at 0.46, so more hands were added.
HANDWRITING_FONT_PACKAGES = {
    "fonts-dkg-handwriting": "truetype/fifthhorseman",
    "fonts-breip": "truetype/breip",
    "fonts-femkeklaver": "truetype/femkeklaver",
    "fonts-humor-sans": "truetype/humor-sans",
    "fonts-bwht": "opentype/bwht",
    "fonts-dancingscript": "opentype/dancingscript",
    "fonts-kristi": "truetype/kristi",
    "fonts-ecolier-court": "truetype/ecolier-court",
    "fonts-rufscript": "truetype/rufscript",
    "fonts-comic-neue": "opentype/comic-neue",
    "fonts-kaushanscript": "opentype/kaushanscript",
    "fonts-yusei-magic": "truetype/yusei-magic",
    "fonts-klee": "truetype/klee",
    "fonts-seto": "truetype/seto",
    "fonts-havana": "opentype/havana",
}
HANDWRITING_FONT_DIRS = tuple(Path("/usr/share/fonts") / path for path in HANDWRITING_FONT_PACKAGES.values())
#: Every font must draw these (contract text); a font that lacks one would teach a wrong label.
_REQUIRED_GLYPHS = string.ascii_letters + string.digits + "$#,./-:&'()%"
#: Darkest ink at least this far below the paper's grey level in every synthetic crop.
_MIN_INK_CONTRAST = 64
_PRINTED_FONTS = (
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
_PRINTED_LABELS = (
    "(Address)",
    "(Title)",
    "(Date)",
    "NAME OF SIGNER",
    "OFFICIAL TITLE OF SIGNER",
    "IN PRESENCE OF",
    "(Print Name and Official title)",
    "Signature",
    "BY",
    "DATE",
    # Boxes drawn around handwriting that fills a line cut through the printed lines next to it.
    "IN WITNESS WHEREOF, the parties subscribed their names as of the above date.",
    "hereinafter called the Lessor, and the UNITED STATES OF AMERICA, hereinafter called",
    "LESSOR",
    "whose address is",
)


def find_fonts(directories: Sequence[Path] = HANDWRITING_FONT_DIRS) -> list[Path]:
    """The usable handwriting fonts installed; raises `DependencyError` naming the packages when none are."""
    found = sorted(
        path
        for directory in directories
        if directory.is_dir()
        for path in directory.iterdir()
        if path.suffix.lower() in {".ttf", ".otf"}
    )
    fonts = [path for path in found if draws_contract_text(path)]
    if not fonts:
        raise DependencyError(
            "no handwriting fonts found; install the Debian packages " + " ".join(HANDWRITING_FONT_PACKAGES)
        )
    log.debug("%d handwriting fonts (%d skipped: missing glyphs)", len(fonts), len(found) - len(fonts))
    return fonts


def draws_contract_text(path: Path) -> bool:
    """True when the font draws every required glyph, each its own (not the missing-glyph box)."""
    font = ImageFont.truetype(str(path), 32)
    missing = bytes(font.getmask("\U0010fffd"))
    shapes = {bytes(font.getmask(char)) for char in _REQUIRED_GLYPHS}
    # Fonts that map every letter to one box or to nothing draw far fewer shapes than glyphs.
    return missing not in shapes and len(shapes) >= 0.9 * len(_REQUIRED_GLYPHS)


@dataclass(frozen=True, slots=True)
class _Style:
    font: ImageFont.FreeTypeFont
    ink: int
    paper: int
    stroke: int


def _render_words(text: str, style: _Style, rng: random.Random) -> np.ndarray:
    """Text drawn word by word with jittered baseline and spacing: a grey uint8 image."""
    size = style.font.size
    width = int(size * (len(text) + 4) * 0.9) + 40
    height = int(size * 2.2)
    canvas = Image.new("L", (width, height), style.paper)
    draw = ImageDraw.Draw(canvas)
    x = float(size * 0.5)
    for word in text.split(" "):
        if word:
            y = size * 0.5 + rng.uniform(-0.06, 0.06) * size
            draw.text(
                (x, y),
                word,
                font=style.font,
                fill=style.ink,
                stroke_width=style.stroke,
                stroke_fill=style.ink,
            )
            x += draw.textlength(word, font=style.font)
        x += size * rng.uniform(0.25, 0.6)
    array = np.asarray(canvas)
    ink_columns = np.flatnonzero((array < style.paper - 40).any(axis=0))
    ink_rows = np.flatnonzero((array < style.paper - 40).any(axis=1))
    if ink_columns.size == 0:
        return array[:, : int(x)]
    return array[ink_rows[0] : ink_rows[-1] + 1, ink_columns[0] : ink_columns[-1] + 1]


def _shear(image: np.ndarray, slant: float, paper: int) -> np.ndarray:
    height, width = image.shape
    shift = abs(slant) * height
    matrix = np.array([[1.0, -slant, shift if slant > 0 else 0.0], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(image, matrix, (int(width + shift), height), borderValue=paper)


def _elastic(image: np.ndarray, rng: np.random.Generator, *, alpha: float, sigma: float) -> np.ndarray:
    height, width = image.shape
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (height, width)).astype(np.float32), (0, 0), sigma) * alpha
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (height, width)).astype(np.float32), (0, 0), sigma) * alpha
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + dx, grid_y + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def augment(image: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """Scan-like variation of a grey uint8 crop: slant, stroke width, elastic warp, blur, noise, contrast."""
    out: np.ndarray = image.astype(np.uint8)
    paper = int(np.percentile(out, 90))
    if rng.random() < 0.7:
        out = _shear(out, float(rng.uniform(-0.35, 0.35) * strength), paper)
    if rng.random() < 0.4:
        kernel = np.ones((2, 2), np.uint8)
        out = cv2.erode(out, kernel) if rng.random() < 0.6 else cv2.dilate(out, kernel)
    if rng.random() < 0.6:
        sigma = float(rng.uniform(3.0, 6.0))
        out = _elastic(
            out, rng, alpha=float(rng.uniform(1.0, 3.0) * strength * out.shape[0] / 40), sigma=sigma
        )
    scale_y = float(rng.uniform(0.8, 1.2))
    scale_x = scale_y * float(rng.uniform(0.8, 1.25))
    out = cv2.resize(out, None, fx=scale_x, fy=scale_y, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.3, 1.2)))
    levels: np.ndarray = out.astype(np.float32)
    contrast = float(rng.uniform(0.6, 1.15))
    levels = 255 - (255 - levels) * contrast + rng.normal(0, rng.uniform(0, 6), levels.shape)
    out = np.clip(levels, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        quality = int(rng.integers(30, 90))
        ok, encoded = cv2.imencode(".jpg", out, (cv2.IMWRITE_JPEG_QUALITY, quality))
        decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE) if ok else None
        if decoded is not None:
            out = decoded
    return out


def _keep_contrast(image: np.ndarray) -> np.ndarray:
    """Stretch a crop whose darkest ink is within `_MIN_INK_CONTRAST` of the paper.

    Thin hands (light weights, small sizes) lose their darkness to blur and downscaling; such
    crops show the net ink it could not see on a scan, which teaches it to read noise.
    """
    paper = float(np.median(image))
    spread = paper - float(image.min())
    if spread >= _MIN_INK_CONTRAST:
        return image
    stretched = paper - (paper - image.astype(np.float32)) * (_MIN_INK_CONTRAST / max(spread, 1.0))
    out: np.ndarray = np.clip(stretched, 0, 255).astype(np.uint8)
    return out


class SyntheticGenerator:
    """Renders (grey uint8 crop, text) pairs of contract vocabulary in handwriting fonts."""

    def __init__(self, *, seed: int = 0, fonts: Sequence[Path] | None = None) -> None:
        self._rng = random.Random(seed)
        self._np_rng = np.random.default_rng(seed)
        font_paths = list(fonts) if fonts is not None else find_fonts()
        # Draw a family (a package's folder) first, so six weights of one hand count as one hand.
        families: dict[Path, list[Path]] = {}
        for path in font_paths:
            families.setdefault(path.parent, []).append(path)
        self._families = [families[folder] for folder in sorted(families)]
        self._printed = [path for path in _PRINTED_FONTS if path.is_file()]
        self._font_cache: dict[tuple[Path, int], ImageFont.FreeTypeFont] = {}

    def _font(self, path: Path, size: int) -> ImageFont.FreeTypeFont:
        key = (path, size)
        if key not in self._font_cache:
            self._font_cache[key] = ImageFont.truetype(str(path), size)
        return self._font_cache[key]

    def sample(self) -> tuple[np.ndarray, str]:
        """One crop and its transcription."""
        rng = self._rng
        text = random_text(rng)
        paper = rng.randint(215, 255)
        style = _Style(
            font=self._font(rng.choice(rng.choice(self._families)), rng.randint(26, 44)),
            ink=rng.randint(0, 110),
            paper=paper,
            stroke=1 if rng.random() < 0.15 else 0,
        )
        words = _render_words(text, style, rng)
        return self._frame(words, paper), text

    def _frame(self, words: np.ndarray, paper: int) -> np.ndarray:
        """Place the words in a loose box with form lines and printed labels, then augment."""
        rng = self._rng
        text_height, text_width = words.shape
        top = rng.randint(2, max(3, int(text_height * 0.6)))
        bottom = rng.randint(2, max(3, int(text_height * 0.7)))
        left = rng.randint(2, max(3, int(text_height * 0.8)))
        right = rng.randint(2, max(3, int(text_height * 1.2)))
        canvas = np.full((text_height + top + bottom, text_width + left + right), paper, np.uint8)
        canvas[top : top + text_height, left : left + text_width] = words
        if rng.random() < 0.55:
            y = top + text_height - rng.randint(-4, max(-3, int(text_height * 0.3)))
            y = min(max(y, 0), canvas.shape[0] - 1)
            cv2.line(canvas, (0, y), (canvas.shape[1], y), rng.randint(0, 90), rng.randint(1, 2))
        if self._printed and rng.random() < 0.45:
            self._printed_label(canvas, below=rng.random() < 0.6)
        if rng.random() < 0.1:
            x = rng.choice((rng.randint(0, 4), canvas.shape[1] - rng.randint(1, 5)))
            cv2.line(canvas, (x, 0), (x, canvas.shape[0]), rng.randint(0, 90), 1)
        return _keep_contrast(augment(canvas, self._np_rng))

    def _printed_label(self, canvas: np.ndarray, *, below: bool) -> None:
        rng = self._rng
        font = self._font(rng.choice(self._printed), rng.randint(11, 17))
        label = rng.choice(_PRINTED_LABELS)
        layer = Image.fromarray(canvas)
        draw = ImageDraw.Draw(layer)
        x = rng.randint(-20, max(-19, canvas.shape[1] // 2))
        height = canvas.shape[0]
        y = height - rng.randint(4, 14) if below else -rng.randint(2, 8)
        draw.text((x, y), label, font=font, fill=rng.randint(0, 60))
        canvas[:] = np.asarray(layer)
