"""Every handwriting engine keeps the same contract: text is a str, confidence in [0, 1], an empty
or blank crop gives empty text, results keep the batch order, and the engine names itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from indexer.backends.base import HandwritingRecognizer
from tests.backends.test_azure import FakeAzure, azure_settings
from tests.backends.test_azure import fake_azure as fake_azure
from tests.backends.test_ctc import tiny_htr_model
from tests.backends.test_trocr import tiny_trocr

ENGINES = ["htr", "htr-lines", "ppocr", "ensemble", "tesseract", "azure", "trocr"]


def _writing(text: str, width: int) -> np.ndarray:
    crop = np.full((48, width, 3), 250, np.uint8)
    cv2.putText(crop, text, (6, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    return crop


@pytest.fixture
def recognizer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HandwritingRecognizer]:
    engine = request.param
    if engine == "htr":
        from indexer.backends.htr.ctc import CtcRecognizer

        yield CtcRecognizer(tiny_htr_model(tmp_path), beam_width=3)
    elif engine == "htr-lines":
        from indexer.backends.htr.ctc import CtcRecognizer
        from indexer.backends.htr.lines import LineSplitter, LineSplittingRecognizer
        from indexer.backends.tesseract_crop import TesseractCropRecognizer

        splitter = LineSplitter(printed_reader=TesseractCropRecognizer())
        with LineSplittingRecognizer(CtcRecognizer(tiny_htr_model(tmp_path)), splitter) as split:
            yield split
    elif engine == "ppocr":
        from indexer.backends.htr.ppocr import PpOcrRecognizer
        from indexer.backends.htr.typed import TypedDecoder

        with PpOcrRecognizer(threads=1) as ppocr:
            ppocr.typed = TypedDecoder(ppocr.vocabulary, margin=4.0)
            yield ppocr
    elif engine == "ensemble":
        from indexer.backends.htr.ctc import CtcRecognizer
        from indexer.backends.htr.ensemble import EnsembleRecognizer
        from indexer.backends.htr.ppocr import PpOcrRecognizer

        htr = CtcRecognizer(tiny_htr_model(tmp_path))
        with EnsembleRecognizer(PpOcrRecognizer(threads=1), htr, confidence_offset=0.1) as ensemble:
            yield ensemble
    elif engine == "tesseract":
        from indexer.backends.tesseract_crop import TesseractCropRecognizer

        with TesseractCropRecognizer() as tesseract:
            yield tesseract
    elif engine == "azure":
        from indexer.backends.azure import AzureReadOcr

        server: FakeAzure = request.getfixturevalue("fake_azure")
        with AzureReadOcr(azure_settings(server.endpoint)) as azure:
            yield azure
    else:
        from indexer.backends.trocr import TrOcrRecognizer

        yield TrOcrRecognizer(str(tiny_trocr(tmp_path)), max_new_tokens=8)


@pytest.mark.parametrize("recognizer", ENGINES, indirect=True)
def test_recognizer_contract(recognizer: HandwritingRecognizer) -> None:
    assert isinstance(recognizer, HandwritingRecognizer)
    first, second = _writing("2/23/12", 180), _writing("MEMBER", 150)
    empty = np.zeros((0, 0, 3), np.uint8)
    blank = np.full((40, 120, 3), 255, np.uint8)
    grey = cv2.cvtColor(first, cv2.COLOR_RGB2GRAY)

    results = recognizer.recognize([empty, first, blank, second, grey])

    assert len(results) == 5
    for result in results:
        assert isinstance(result.text, str)
        assert 0.0 <= result.confidence <= 1.0
        assert result.engine == recognizer.name
    assert results[0].text == ""
    assert results[2].text == ""
    assert recognizer.recognize([]) == []
    reversed_batch = recognizer.recognize([second, first])
    assert [r.text for r in reversed_batch] == [results[3].text, results[1].text]
    assert isinstance(recognizer.version, str) and recognizer.version
