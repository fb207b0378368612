"""`tesseract`: plain Tesseract on each crop (one text line, `--psm 7`), kept for comparison."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from indexer.backends.base import Recognition
from indexer.backends.htr.crops import is_blank_crop
from indexer.errors import BackendError, DependencyError

__all__ = ["TesseractCropRecognizer", "find_tessdata"]

log = logging.getLogger(__name__)

ENGINE = "tesseract"
_TESSDATA_ROOT = Path("/usr/share/tesseract-ocr")
_PERCENT = 100.0


def find_tessdata(lang: str = "eng") -> Path:
    """Debian's tessdata folder holding `<lang>.traineddata`.

    Raises:
        DependencyError: no traineddata for `lang` is installed.
    """
    for candidate in sorted(_TESSDATA_ROOT.glob("*/tessdata"), reverse=True):
        if (candidate / f"{lang}.traineddata").is_file():
            return candidate
    raise DependencyError(f"no {lang}.traineddata under {_TESSDATA_ROOT}; install tesseract-ocr-{lang}")


class TesseractCropRecognizer:
    """Reads each crop as one text line with tesserocr; confidence is Tesseract's mean word confidence.

    Args:
        tessdata_dir: folder of the traineddata; default: Debian's.
        lang: Tesseract language.
    """

    name = ENGINE

    def __init__(self, tessdata_dir: Path | None = None, *, lang: str = "eng") -> None:
        try:
            import tesserocr
        except ImportError as exc:
            raise DependencyError("the tesseract engine needs tesserocr: pip install tesserocr") from exc
        path = tessdata_dir or find_tessdata(lang)
        self.version = str(tesserocr.tesseract_version().split()[1])
        try:
            self._api: Any = tesserocr.PyTessBaseAPI(
                path=f"{path}/", lang=lang, psm=tesserocr.PSM.SINGLE_LINE
            )
        except RuntimeError as exc:
            raise DependencyError(f"tesserocr cannot load {lang} from {path}: {exc}") from exc
        # One PyTessBaseAPI is not thread-safe; batches from several threads take turns.
        self._lock = threading.Lock()

    def __enter__(self) -> TesseractCropRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Free Tesseract's memory."""
        self._api.End()

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One `Recognition` per crop, in order."""
        return [self._read(crop) for crop in crops]

    def _read(self, crop: np.ndarray) -> Recognition:
        if is_blank_crop(crop):
            return Recognition("", 0.0, ENGINE)
        image = Image.fromarray(np.ascontiguousarray(crop).astype(np.uint8))
        try:
            with self._lock:
                self._api.SetImage(image)
                text = self._api.GetUTF8Text()
                confidence = self._api.MeanTextConf()
        except RuntimeError as exc:
            raise BackendError(f"tesserocr failed on a {crop.shape} crop: {exc}", engine=ENGINE) from exc
        text = " ".join(text.split())
        if not text:
            return Recognition("", 0.0, ENGINE)
        return Recognition(text, min(max(confidence / _PERCENT, 0.0), 1.0), ENGINE)
