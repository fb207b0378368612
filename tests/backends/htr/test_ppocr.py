"""The ppocr engine: the bundled model is found offline, inputs match RapidOCR's, outputs are usable."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from indexer.backends.htr.ppocr import (
    INPUT_HEIGHT,
    MIN_INPUT_WIDTH,
    WIDTH_PER_STEP,
    PpOcrRecognizer,
    boost_spaces,
    find_model,
    preprocess_crop,
)
from indexer.backends.htr.typed import TypedDecoder
from indexer.errors import DependencyError


def _writing(text: str, width: int) -> np.ndarray:
    crop = np.full((48, width, 3), 250, np.uint8)
    cv2.putText(crop, text, (6, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    return crop


@pytest.fixture(scope="module")
def recognizer() -> PpOcrRecognizer:
    return PpOcrRecognizer(threads=1)


def test_the_model_ships_inside_the_rapidocr_wheel() -> None:
    path = find_model()
    assert path.name == "PP-OCRv6_rec_small.onnx"
    assert "rapidocr" in path.parts


def test_a_missing_model_file_is_a_dependency_error(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="rapidocr"):
        PpOcrRecognizer(tmp_path / "nothing.onnx")


def test_preprocessing_keeps_the_aspect_ratio_in_minus_one_to_one() -> None:
    crop = np.full((96, 1000, 3), 255, np.uint8)
    crop[40:60, 100:900] = 0

    image, steps = preprocess_crop(crop)

    assert image.shape == (3, INPUT_HEIGHT, 504)  # 1000 * 48 / 96 = 500, up to a multiple of 8
    assert image.min() == pytest.approx(-1.0) and image.max() == pytest.approx(1.0)
    assert steps == 504 // WIDTH_PER_STEP
    short, _ = preprocess_crop(crop[:, :100])
    assert short.shape[2] == MIN_INPUT_WIDTH


def test_reads_printed_digits_and_exposes_per_step_probabilities(recognizer: PpOcrRecognizer) -> None:
    crops = [_writing("2/23/12", 180), _writing("MEMBER", 160)]

    readings = recognizer.read(crops)
    results = recognizer.recognize(crops)

    assert [result.text for result in results] == ["2/23/12", "MEMBER"]
    for reading in readings:
        assert reading is not None
        assert reading.probabilities.shape[1] == len(recognizer.vocabulary) + 1
        np.testing.assert_allclose(reading.probabilities.sum(axis=1), 1.0, atol=1e-4)


def test_a_crop_reads_the_same_alone_and_in_a_batch(recognizer: PpOcrRecognizer) -> None:
    crops = [_writing("July 15, 2010", 300), _writing("3/13/13", 150), _writing("Suite 250", 200)]

    together = recognizer.read(crops)
    alone = [recognizer.read([crop])[0] for crop in crops]

    for batched, single in zip(together, alone, strict=True):
        assert batched is not None and single is not None
        np.testing.assert_allclose(batched.probabilities, single.probabilities, atol=1e-5)


def test_typed_decoding_reads_through_the_engine(recognizer: PpOcrRecognizer) -> None:
    typed = PpOcrRecognizer(threads=1, typed=TypedDecoder(recognizer.vocabulary, margin=4.0))

    assert typed.recognize([_writing("3/13/13", 150)])[0].text == "3/13/13"
    with pytest.raises(ValueError, match="type_hints"):
        typed.recognize([_writing("3/13/13", 150)], type_hints=[])


def test_a_space_boost_separates_words_the_model_runs_together() -> None:
    """GIVEN a step where the space is the runner-up to the blank
    WHEN spaces are boosted by 1.5 nats
    THEN the space wins that step, and the rows still sum to one."""
    vocabulary = "ab "
    probabilities = np.array(
        [[0.05, 0.9, 0.0, 0.05], [0.7, 0.0, 0.0, 0.3], [0.05, 0.0, 0.9, 0.05]], np.float32
    )

    boosted = boost_spaces(probabilities, vocabulary, 1.5)

    assert boosted.argmax(axis=1).tolist() == [1, 3, 2]
    np.testing.assert_allclose(boosted.sum(axis=1), 1.0, atol=1e-6)
    assert boost_spaces(probabilities, vocabulary, 0.0) is probabilities
    assert boost_spaces(probabilities, "ab", 1.5) is probabilities


def test_a_printed_caption_beside_the_writing_is_not_read(recognizer: PpOcrRecognizer) -> None:
    """GIVEN a line holding a parenthesised caption, then a zip code
    WHEN it is read, with and without caption dropping
    THEN the caption is gone only with it."""
    crop = _writing("(Address) 96813", 300)
    keeping = PpOcrRecognizer(threads=1, drop_captions=False)

    assert recognizer.recognize([crop])[0].text == "96813"
    assert "Address" in keeping.recognize([crop])[0].text
