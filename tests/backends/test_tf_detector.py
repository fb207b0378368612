from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.backends.base import BoxDetector
from indexer.backends.tf_detector import CONFIG_FILE, DetectorConfig, TfBoxDetector, build_model, decode
from indexer.document import HandwritingKind
from indexer.errors import DependencyError, InputError

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "detector"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 8-filter net, saved like a trained one."""
    folder = tmp_path_factory.mktemp("tiny-detector")
    config = DetectorConfig(base_filters=8, short_side_px=128, score_threshold=0.34, min_area_px=1)
    build_model(config).save_weights(str(folder / config.weights))
    config.save(folder / CONFIG_FILE)
    return folder


@pytest.mark.parametrize("shape", [(333, 257, 3), (2200, 1700, 3), (97, 401, 3)])
def test_boxes_are_integer_pixels_inside_odd_sized_images(
    tiny_model_dir: Path, shape: tuple[int, ...]
) -> None:
    detector = TfBoxDetector(tiny_model_dir, threads=1)
    assert isinstance(detector, BoxDetector)
    image = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    for found in detector.detect(image):
        box = found.box
        assert all(isinstance(v, int) for v in box.as_tuple())
        assert 0 <= box.x0 < box.x1 <= shape[1] and 0 <= box.y0 < box.y1 <= shape[0]
        assert 0.0 <= found.score <= 1.0 and found.kind in set(HandwritingKind)


def test_decode_maps_output_cells_back_to_original_pixels() -> None:
    """GIVEN a 10x10 output map (stride 2, resize factor 0.5: one cell is 4 original px) with one
    annotation blob THEN its box is the blob's cells scaled by stride / factor."""
    config = DetectorConfig(close_px=1, min_area_px=1)
    probabilities = np.zeros((10, 10, 3), np.float32)
    probabilities[..., 0] = 1.0
    probabilities[2:4, 3:6] = (0.1, 0.1, 0.8)
    (found,) = decode(probabilities, 0.5, (40, 40), config)
    assert found.kind is HandwritingKind.ANNOTATION
    assert found.box.as_tuple() == (12, 8, 24, 16)
    assert found.score == pytest.approx(0.8)


def test_missing_model_and_bad_input_raise_our_errors(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(DependencyError, match="train-detector"):
        TfBoxDetector(tmp_path)
    with pytest.raises(InputError):
        TfBoxDetector(tiny_model_dir).detect(np.zeros((10, 10, 3), np.float32))


def test_shipped_model_loads_and_finds_nothing_on_a_blank_page() -> None:
    detector = TfBoxDetector(SHIPPED, threads=2)
    assert detector.detect(np.full((2200, 1700, 3), 255, np.uint8)) == []
