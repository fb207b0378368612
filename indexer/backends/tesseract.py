"""Tesseract as the page OCR, in-process through tesserocr, and the `tesseract` program for benchmarks.

tesserocr's wheel bundles its own Tesseract (built without OpenMP, so no thread oversubscription)
but no language data: we point it at Debian's tessdata.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from PIL import Image

from indexer.backends.base import PrintedOcrResult
from indexer.backends.htr.crops import to_grey
from indexer.config import TesseractSettings
from indexer.document import Box, Word

__all__ = ["TesseractOcr", "find_tessdata", "run_tesseract_program", "words_to_text"]

log = logging.getLogger(__name__)

_TESSDATA_GLOBS = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata")
_WORD_LEVEL = 5
_PSM_SPARSE_TEXT = 11
_TSV_COLUMNS = 12
# Keep paragraphs and lines apart in a word's line key: block, then paragraph * this + line.
_LINES_PER_PARAGRAPH = 1000


def find_tessdata(configured: Path | None, lang: str) -> Path:
    """The tessdata folder holding `<lang>.traineddata`.

    Raises:
        DependencyError: none found; names the Debian package.
    """
    from indexer.errors import DependencyError

    candidates = (
        [configured] if configured else [p for g in _TESSDATA_GLOBS for p in sorted(Path("/").glob(g[1:]))]
    )
    for candidate in candidates:
        if candidate is not None and (candidate / f"{lang}.traineddata").is_file():
            return candidate
    raise DependencyError(
        f"no Tesseract language data for {lang!r} found; apt-get install tesseract-ocr-{lang} "
        "or set INDEXER_TESSERACT__TESSDATA_DIR"
    )


def parse_tsv(tsv: str) -> list[Word]:
    """Words from Tesseract's TSV output (with or without its header line)."""
    words: list[Word] = []
    for row in tsv.splitlines():
        cells = row.split("\t")
        if len(cells) < _TSV_COLUMNS or not cells[0].isdigit() or int(cells[0]) != _WORD_LEVEL:
            continue
        text = cells[11].strip()
        left, top, width, height = (int(value) for value in cells[6:10])
        if not text or width <= 0 or height <= 0:
            continue
        words.append(
            Word(
                text=text,
                box=Box(left, top, left + width, top + height),
                confidence=min(max(float(cells[10]) / 100.0, 0.0), 1.0),
                block=int(cells[2]),
                line=int(cells[3]) * _LINES_PER_PARAGRAPH + int(cells[4]),
            )
        )
    return words


def words_to_text(words: list[Word]) -> str:
    """Plain text: words joined by spaces, lines by newlines, blocks by a blank line."""
    lines: list[str] = []
    previous: tuple[int, int] | None = None
    for word in words:
        key = (word.block, word.line)
        if previous is None:
            lines.append(word.text)
        elif key == previous:
            lines[-1] += f" {word.text}"
        else:
            if word.block != previous[0]:
                lines.append("")
            lines.append(word.text)
        previous = key
    return "\n".join(lines)


def _grey_image(image: np.ndarray) -> Image.Image:
    """The page as one grey channel: Tesseract thresholds a colour image channel by channel,
    which takes about a quarter longer on a page; on grey scans both give the same words."""
    return Image.fromarray(to_grey(image))


class TesseractOcr:
    """Page OCR with one reused Tesseract instance (the model loads once per process)."""

    name = "tesseract"

    def __init__(self, settings: TesseractSettings) -> None:
        import tesserocr

        self._settings = settings
        tessdata = find_tessdata(settings.tessdata_dir, settings.lang)
        self._api: Any = tesserocr.PyTessBaseAPI(path=str(tessdata), lang=settings.lang, psm=settings.psm)
        self.version = tesserocr.tesseract_version().split()[1]

    def read_page(self, image: np.ndarray, *, dpi: int) -> PrintedOcrResult:
        self._api.SetImage(_grey_image(image))
        self._api.SetSourceResolution(dpi)
        self._api.Recognize()
        words = parse_tsv(self._api.GetTSVText(0))
        return PrintedOcrResult(words=words, text=words_to_text(words))

    def read_sparse(self, image: np.ndarray, *, dpi: int) -> list[Word]:
        """Words of a region read as sparse text (page segmentation mode 11), no layout analysis."""
        self._api.SetPageSegMode(_PSM_SPARSE_TEXT)
        try:
            self._api.SetImage(_grey_image(image))
            self._api.SetSourceResolution(dpi)
            self._api.Recognize()
            return parse_tsv(self._api.GetTSVText(0))
        finally:
            self._api.SetPageSegMode(self._settings.psm)

    def close(self) -> None:
        self._api.End()

    def __enter__(self) -> TesseractOcr:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def run_tesseract_program(image_path: Path, settings: TesseractSettings, *, dpi: int) -> str:
    """Run the `tesseract` program on an image file and return its TSV (the benchmark baseline).

    OMP_THREAD_LIMIT=1: Debian's build uses OpenMP, which halves its speed on 2 cores.
    """
    from indexer.errors import BackendError, DependencyError

    argv = [
        settings.executable,
        str(image_path),
        "stdout",
        "--dpi",
        str(dpi),
        "--psm",
        str(settings.psm),
        "tsv",
    ]
    try:
        completed = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=settings.timeout_s,
            check=False,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"},
        )
    except FileNotFoundError as exc:
        raise DependencyError("the `tesseract` program is missing; apt-get install tesseract-ocr") from exc
    except subprocess.TimeoutExpired as exc:
        raise BackendError(f"timed out after {settings.timeout_s:.0f} s", engine="tesseract") from exc
    for line in completed.stderr.splitlines():
        log.debug("tesseract: %s", line)
    if completed.returncode != 0:
        raise BackendError(
            f"exit {completed.returncode}: {completed.stderr.strip()[-300:]}", engine="tesseract"
        )
    return completed.stdout
