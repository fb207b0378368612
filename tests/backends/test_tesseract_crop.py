"""The `tesseract` comparison engine reads a clean printed line and finds Debian's tessdata."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from indexer.backends.tesseract_crop import TesseractCropRecognizer, find_tessdata
from indexer.errors import DependencyError


def test_reads_a_printed_line() -> None:
    crop = np.full((60, 320, 3), 255, np.uint8)
    cv2.putText(crop, "LEASE 2012", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3)
    with TesseractCropRecognizer() as tesseract:
        result = tesseract.recognize([crop])[0]
    assert result.text.replace(" ", "") == "LEASE2012"
    assert result.confidence > 0.5
    assert result.engine == "tesseract"


def test_missing_language_names_the_package() -> None:
    assert (find_tessdata() / "eng.traineddata").is_file()
    with pytest.raises(DependencyError, match="tesseract-ocr-xyz"):
        find_tessdata("xyz")
