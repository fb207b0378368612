"""The htr engine: preprocessing, CTC decoding on hand-built matrices, spelling correction, loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.backends.htr.ctc import (
    WIDTH_PER_STEP,
    CtcRecognizer,
    build_model,
    preprocess_batch,
    preprocess_crop,
    save_model,
    time_steps,
)
from indexer.backends.htr.ctc_decode import best_path, labels_to_text, prefix_beam_search
from indexer.errors import DependencyError
from indexer.model_dirs.htr import CONFIG_FILE, LEXICON_FILE, HtrConfig

VOCABULARY = "ab"  # class 0 is the blank, 1 is "a", 2 is "b"


def _matrix(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_best_path_collapses_repeats_and_drops_blanks() -> None:
    probabilities = _matrix(
        [[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    )
    decoded = best_path(probabilities, blank_index=0)
    assert labels_to_text(decoded.labels, VOCABULARY, blank_index=0) == "aab"
    assert decoded.confidence == pytest.approx(float(np.exp(np.log([0.8, 0.8, 0.9, 0.8, 0.8]).mean())))


def test_beam_search_finds_the_label_that_best_path_misses() -> None:
    """GIVEN two steps where blank wins each step but "a" wins over both paths together
    WHEN decoding THEN best path says "" and beam search says "a"."""
    probabilities = _matrix([[0.6, 0.4, 0.0], [0.6, 0.4, 0.0]])
    assert best_path(probabilities, blank_index=0).labels == ()
    decoded = prefix_beam_search(probabilities, blank_index=0, beam_width=4)
    # P("") = 0.36; P("a") = 0.4*0.6 + 0.6*0.4 + 0.4*0.4 = 0.64
    assert labels_to_text(decoded.labels, VOCABULARY, blank_index=0) == "a"
    assert decoded.confidence == pytest.approx(np.sqrt(0.64), rel=1e-4)


def test_beam_search_keeps_repeats_separated_by_a_blank() -> None:
    probabilities = _matrix([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    decoded = prefix_beam_search(probabilities, blank_index=0)
    assert labels_to_text(decoded.labels, VOCABULARY, blank_index=0) == "aa"


def test_decoders_handle_no_time_steps() -> None:
    empty = np.zeros((0, 3), np.float32)
    assert best_path(empty, blank_index=0).labels == ()
    assert prefix_beam_search(empty, blank_index=0).confidence == 0.0


def test_preprocess_keeps_aspect_and_pads_to_the_stride() -> None:
    crop = np.full((60, 300), 255, np.uint8)
    crop[20:40, 10:290] = 0
    image = preprocess_crop(crop, height=32, max_width=640)
    assert image.shape == (32, 160)  # 300 * 32 / 60 = 160, already a multiple of 4
    assert image.dtype == np.float32
    assert image.max() == pytest.approx(1.0) and image[0, 0] == pytest.approx(0.0)  # ink is 1, paper 0
    wide = preprocess_crop(np.zeros((10, 2000, 3), np.uint8), height=32, max_width=640)
    assert wide.shape == (32, 640)
    batch, widths = preprocess_batch([image, preprocess_crop(crop[:, :150], height=32, max_width=640)])
    assert batch.shape == (2, 32, 160, 1) and widths.tolist() == [160, 80]
    assert 160 % WIDTH_PER_STEP == 0


def tiny_htr_model(directory: Path, *, lexicon: list[str] | None = None) -> Path:
    """A randomly initialised, small htr model saved like the shipped one."""
    import keras

    keras.utils.set_random_seed(0)
    config = HtrConfig(
        vocabulary="abcdefghijklmnopqrstuvwxyz0123456789 /", conv_filters=(4, 4, 8, 8, 8), lstm_units=8
    )
    save_model(build_model(config), config, directory)
    if lexicon:
        (directory / LEXICON_FILE).write_text("\n".join(lexicon), encoding="utf-8")
    return directory


def test_a_crop_reads_the_same_alone_and_in_a_batch_of_wider_crops() -> None:
    """GIVEN a model whose batch norms shift blank paper away from zero
    WHEN a narrow crop is read alone and then right-padded beside a crop three times wider
    THEN its outputs over its own steps are the same: padding reaches neither conv nor LSTM."""
    import keras

    keras.utils.set_random_seed(1)
    config = HtrConfig(vocabulary="ab", conv_filters=(4, 4, 8, 8, 8), lstm_units=8)
    model = build_model(config)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # A positive offset with mean 0 and variance 1: blank paper leaves each block non-zero.
            size = layer.get_weights()[0].shape
            layer.set_weights([np.ones(size), rng.uniform(0.5, 1.0, size), np.zeros(size), np.ones(size)])
    narrow = rng.uniform(0, 1, (32, 40)).astype(np.float32)
    wide = rng.uniform(0, 1, (32, 120)).astype(np.float32)
    batch, widths = preprocess_batch([narrow, wide])
    alone = np.asarray(model([narrow[None, :, :, None], time_steps(np.array([40]))]))
    batched = np.asarray(model([batch, time_steps(widths)]))
    assert batched.shape[1] == 30 and alone.shape[1] == 10
    np.testing.assert_allclose(batched[0, :10], alone[0], rtol=1e-4, atol=1e-4)


def test_saved_model_round_trips_and_reads_config_at_load(tmp_path: Path) -> None:
    tiny_htr_model(tmp_path, lexicon=["member"])
    recognizer = CtcRecognizer(tmp_path, beam_width=4)
    assert recognizer.config.vocabulary.startswith("abc")
    assert recognizer.config.lstm_units == 8
    crop = np.full((40, 200), 255, np.uint8)
    crop[15:25, 20:180:7] = 0
    first = recognizer.recognize([crop])[0]
    again = CtcRecognizer(tmp_path, beam_width=4).recognize([crop])[0]
    assert first == again


def test_missing_model_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DependencyError, match="INDEXER_HANDWRITING__HTR_MODEL_DIR"):
        CtcRecognizer(tmp_path)


def test_shipped_model_loads() -> None:
    """The model in models/htr works on a fresh clone (no training, no ../shared)."""
    model_dir = Path(__file__).resolve().parents[2] / "models" / "htr"
    assert (model_dir / CONFIG_FILE).is_file()
    recognizer = CtcRecognizer(model_dir)
    crop = np.full((48, 160, 3), 255, np.uint8)
    crop[20:28, 10:150] = 0
    result = recognizer.recognize([crop])[0]
    assert isinstance(result.text, str) and 0.0 <= result.confidence <= 1.0


def test_encode_skips_the_blank_wherever_it_sits() -> None:
    """The labels `encode` gives are the ones `labels_to_text` reads back, for any blank index."""
    from indexer.backends.htr.ctc_decode import labels_to_text

    for blank_index in (0, 2, 3):
        config = HtrConfig(vocabulary="abc", blank_index=blank_index)
        labels = config.encode("cab?")
        assert blank_index not in labels
        assert labels_to_text(labels, config.vocabulary, blank_index=blank_index) == "cab"
