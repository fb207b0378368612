from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tensorflow import keras

from indexer.backends.detector.net import build_model
from indexer.document import Box, HandwritingKind
from indexer.errors import InputError
from indexer.model_dirs.detector import DetectorConfig
from indexer.model_dirs.split import SPLIT_FILE, SplitRecord, document_of, read_split, write_split
from indexer.training.data.splits import HoldOut
from indexer.training.data.voc import LabelledBox
from indexer.training.detector.options import TrainOptions
from indexer.training.detector.targets import SampleSource, page_sample
from indexer.training.detector.train import _fit, _Prefetcher, member_weight_names


def test_prefetched_batches_come_in_the_order_they_were_drawn() -> None:
    """One thread draws every batch from one generator, so a seeded run sees the same batches
    as drawing them in the training loop would."""
    rng = np.random.default_rng(7)
    prefetcher = _Prefetcher(lambda: (rng.random(3), rng.random(1)))
    try:
        fetched = [prefetcher.next() for _ in range(5)]
    finally:
        prefetcher.close()
    expected_rng = np.random.default_rng(7)
    for images, labels in fetched:
        assert np.array_equal(images, expected_rng.random(3)) and np.array_equal(
            labels, expected_rng.random(1)
        )


def test_an_error_while_drawing_reaches_the_training_loop() -> None:
    calls = iter(range(3))

    def draw() -> tuple[np.ndarray, np.ndarray]:
        if next(calls) == 2:
            raise ValueError("page 3 is unreadable")
        return np.zeros(1), np.zeros(1)

    prefetcher = _Prefetcher(draw)
    try:
        prefetcher.next()
        prefetcher.next()
        with pytest.raises(ValueError, match="page 3"):
            prefetcher.next()
    finally:
        prefetcher.close()


def _tiny_run(tmp_path: Path, ema_momentum: float | None) -> list[np.ndarray]:
    """Three steps of a 4-filter net on one synthetic page; the weights it would save."""
    config = DetectorConfig(stem="strided", box_head=True, output_stride=4, base_filters=4, short_side_px=96)
    options = TrainOptions(
        data_dirs=[],
        out_dir=tmp_path,
        steps=3,
        batch_size=2,
        crop_px=32,
        config=config,
        ema_momentum=ema_momentum,
    )
    image = np.full((200, 150), 255, np.uint8)
    image[60:80, 20:120] = 0
    boxes = [LabelledBox(HandwritingKind.ANNOTATION, Box(20, 60, 120, 80))]
    source = SampleSource([page_sample(image, boxes, "p")], config, crop_px=32)
    keras.utils.set_random_seed(3)
    model = build_model(config, compute_dtype=options.compute_dtype)
    _fit(model, (source, None), options, lambda *_: None)
    return [np.asarray(w) for w in model.trainable_weights]


@pytest.mark.slow
def test_with_ema_the_saved_weights_are_the_average_not_the_last_ones(tmp_path: Path) -> None:
    last = _tiny_run(tmp_path, None)
    averaged = _tiny_run(tmp_path, 0.5)
    assert all(a.shape == b.shape for a, b in zip(last, averaged, strict=True))
    assert any(not np.allclose(a, b) for a, b in zip(last, averaged, strict=True))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"compute_dtype": "int8"}, "float32, bfloat16"),
        ({"ema_momentum": 1.0}, "between 0 and 1"),
        ({"crop_px": 330}, "multiple of 16"),
        ({"crop_px": 0}, "positive multiple of 16"),
        ({"box_loss": "l2"}, "l1, iou"),
        ({"members": 0}, "at least 1"),
        ({"scale_range": (1.2, 0.8)}, "0 < low <= high"),
        ({"scale_range": (0.0, 1.0)}, "0 < low <= high"),
    ],
)
def test_impossible_options_are_refused(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        TrainOptions(data_dirs=[], out_dir=tmp_path, **options)  # type: ignore[arg-type]


def test_the_scale_range_is_drawn_from_and_spelled_out_only_when_not_the_default(tmp_path: Path) -> None:
    """GIVEN a 200-pixel-tall page and a fixed scale THEN the crop's page was scaled by it (a
    blank page pads the crop, so its dark bar's height tells the scale), and the card's command
    names the range only when it is not the default."""
    config = DetectorConfig(stem="strided", box_head=True, output_stride=4, base_filters=4, short_side_px=96)
    image = np.full((200, 150), 255, np.uint8)
    image[90:110, :] = 0
    page = page_sample(image, [LabelledBox(HandwritingKind.ANNOTATION, Box(0, 90, 150, 110))], "p")
    heights = []
    for scale in (0.5, 1.0):
        source = SampleSource([page], config, crop_px=160, scale_range=(scale, scale))
        crop, _ = source.sample(np.random.default_rng(0))
        heights.append(int((crop[..., 0].max(axis=1) > 0.5).sum()))
    assert heights[1] == pytest.approx(2 * heights[0], abs=2)
    default = TrainOptions(data_dirs=[], out_dir=tmp_path)
    wider = TrainOptions(data_dirs=[], out_dir=tmp_path, scale_range=(0.65, 1.15))
    assert "--scale-range" not in default.to_argv()
    argv = wider.to_argv()
    assert argv[argv.index("--scale-range") + 1 : argv.index("--scale-range") + 3] == ["0.65", "1.15"]


def test_a_split_record_reads_back_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    """GIVEN pages of two documents written as training / held out THEN split.json reads back as
    documents (not pages); a folder without one reads as None; a broken one is an input error."""
    write_split(
        tmp_path,
        str(HoldOut.parse("1/2")),
        train_documents=[document_of(page) for page in ("doc-a-1", "doc-a-2")],
        held_out_documents=[document_of("doc-b-1")],
    )
    assert read_split(tmp_path) == SplitRecord("1/2", frozenset({"doc-a"}), frozenset({"doc-b"}))
    assert read_split(tmp_path / "elsewhere") is None
    (tmp_path / SPLIT_FILE).write_text('{"hold_out": "1/2"}', encoding="utf-8")
    with pytest.raises(InputError, match="not a split record"):
        read_split(tmp_path)


def test_member_nets_get_numbered_weight_files() -> None:
    config = DetectorConfig()
    assert member_weight_names(config, 1) == ["detector.weights.h5"]
    assert member_weight_names(config, 3) == [
        "detector.weights.h5",
        "detector-2.weights.h5",
        "detector-3.weights.h5",
    ]
