from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tensorflow import keras

from indexer.backends.base import BoxDetector, Detection, MappingDetector
from indexer.backends.detector.decode import decode, drop_other_class_overlaps, fuse_scales, merge_overlapping
from indexer.backends.detector.net import build_model
from indexer.backends.detector.predictor import TfBoxDetector
from indexer.config import DetectorSettings
from indexer.document import Box, HandwritingKind
from indexer.errors import ConfigError, DependencyError, InputError
from indexer.model_dirs.detector import CONFIG_FILE, DetectorConfig

#: The shipped detector's folder (the configuration's default).
SHIPPED = DetectorSettings().model_dir
#: The fcn-v2 design: kernels and edge distances besides the classes.
BOX_HEAD = DetectorConfig(version="fcn-v2", stem="strided", box_head=True)


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
    """GIVEN a 10x10 output map of a class-only (fcn-v1) net (stride 2, resize factor 0.5: one
    cell is 4 original px) with one annotation blob THEN its box is the blob's cells scaled by
    stride / factor."""
    config = DetectorConfig(close_px=1, min_area_px=1, box_head=False)
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


def test_reading_at_several_scales_averages_onto_the_grid_of_scale_one(tiny_model_dir: Path) -> None:
    """GIVEN the tiny net on an odd-sized page THEN outputs read at (0.9, 1.0, 1.1) lie on the grid
    of one plain pass, reading twice at scale 1 gives exactly the plain pass's outputs, and scales
    passed to `read` replace the config's."""
    detector = TfBoxDetector(tiny_model_dir, threads=1)
    image = np.random.default_rng(1).integers(0, 256, size=(333, 257, 3), dtype=np.uint8)
    plain, factor = detector.outputs(image)
    detector.config = replace(detector.config, test_scales=(1.0, 1.0))
    twice, twice_factor = detector.outputs(image)
    assert twice_factor == factor and np.allclose(twice, plain, atol=1e-4)
    detector.config = replace(detector.config, test_scales=(0.9, 1.0, 1.1))
    fused, fused_factor = detector.outputs(image)
    assert fused_factor == factor and fused.shape == plain.shape
    assert not np.allclose(fused, plain, atol=1e-3)
    assert np.allclose(fused[..., :3].sum(axis=-1), 1.0, atol=1e-4)  # still class probabilities
    # A calibration reads at other scales than the config's without changing it.
    assert np.allclose(detector.read(image, (1.0,)).outputs, plain, atol=1e-4)
    assert np.allclose(detector.read(image).outputs, fused, atol=1e-4)


def test_the_map_comes_with_the_same_boxes_and_covers_the_page(tiny_model_dir: Path) -> None:
    """GIVEN the tiny net on an odd-sized page WHEN detecting with the map THEN the boxes are
    `detect`'s, and the map holds probabilities on cells that together cover the page."""
    detector = TfBoxDetector(tiny_model_dir, threads=1)
    assert isinstance(detector, MappingDetector)
    image = np.random.default_rng(2).integers(0, 256, size=(333, 257, 3), dtype=np.uint8)

    boxes, handwriting = detector.detect_with_map(image)

    assert boxes == detector.detect(image)
    rows, cols = handwriting.probability.shape
    assert handwriting.probability.min() >= 0.0 and handwriting.probability.max() <= 1.0
    assert abs(rows * handwriting.cell_px - 333) < handwriting.cell_px + 1
    assert abs(cols * handwriting.cell_px - 257) < handwriting.cell_px + 1
    outputs, _ = detector.outputs(image)
    assert np.allclose(handwriting.probability, 1.0 - outputs[..., 0], atol=1e-4)


def test_fusing_converts_edge_distances_to_the_grid_of_scale_one() -> None:
    """GIVEN uniform box-head outputs read at resize factor 0.6 whose edges lie 12 output px away
    THEN on the grid of factor 0.5 they lie 10 px away, and the probabilities are unchanged."""
    read = _box_head_outputs(24, 36)
    read[..., 3] = 0.9
    read[..., 4:] = np.log(12.0 / BOX_HEAD.box_scale_px)
    fused = fuse_scales([read], [0.6], 0.5, (20, 30), BOX_HEAD)
    assert fused.shape == (20, 30, BOX_HEAD.output_channels)
    assert np.allclose(BOX_HEAD.box_scale_px * np.exp(fused[..., 4:]), 10.0)
    assert np.allclose(fused[..., :4], read[0, 0, :4])


def test_a_box_seen_at_two_scales_decodes_to_its_original_pixels_after_fusing() -> None:
    """GIVEN one annotation read at resize factors 0.5 and 0.6 (stride 2), its kernel and edges
    in each grid's own pixels THEN fused on the grid of 0.5 it decodes to the original box, give
    or take one output pixel (4 original px) where the resampling blurs the kernel's rim."""
    original = np.array([40.0, 40.0, 160.0, 100.0])
    reads = []
    for factor, rows, cols in ((0.5, 60, 60), (0.6, 72, 72)):
        outputs = _box_head_outputs(rows, cols)
        x0, y0, x1, y1 = original * factor / 2
        kernel = (slice(round(y0) + 3, round(y1) - 3), slice(round(x0) + 3, round(x1) - 3))
        _predict_box(outputs, *kernel, (x0, y0, x1, y1), kind=2)
        reads.append(outputs)
    fused = fuse_scales(reads, [0.5, 0.6], 0.5, (60, 60), BOX_HEAD)
    (found,) = decode(fused, 0.5, (240, 240), BOX_HEAD)
    assert found.kind is HandwritingKind.ANNOTATION
    assert np.abs(np.array(found.box.as_tuple()) - original).max() <= 4


def test_shipped_model_loads_and_finds_nothing_on_a_blank_page() -> None:
    detector = TfBoxDetector(SHIPPED, threads=2)
    assert detector.detect(np.full((2200, 1700, 3), 255, np.uint8)) == []


def _box_head_outputs(height: int, width: int) -> np.ndarray:
    """Outputs of a box-head net that sees nothing: background everywhere, no kernel."""
    outputs = np.zeros((height, width, BOX_HEAD.output_channels), np.float32)
    outputs[..., 0] = 1.0
    return outputs


def _predict_box(outputs: np.ndarray, rows: slice, cols: slice, box: tuple[float, ...], kind: int) -> None:
    """Mark `rows` x `cols` as kernel pixels of class `kind` whose edge distances point at `box`."""
    config = BOX_HEAD
    outputs[rows, cols, :3] = np.eye(3)[kind]
    outputs[rows, cols, 3] = 0.9
    grid_y, grid_x = np.mgrid[rows, cols] + 0.5
    x0, y0, x1, y1 = box
    distances = np.stack([grid_x - x0, grid_y - y0, x1 - grid_x, y1 - grid_y], axis=-1)
    outputs[rows, cols, 4:] = np.log(distances / config.box_scale_px)


def test_box_head_makes_one_box_per_kernel_from_the_predicted_edges() -> None:
    """GIVEN two annotation fields side by side whose class regions touch (one region) but whose
    kernels are apart, and a signature whose kernel covers only its middle THEN three boxes come
    out, each with the edges its kernel pixels predict, in original pixels (factor 0.5, stride 2)."""
    config = BOX_HEAD
    outputs = _box_head_outputs(40, 60)
    outputs[5:15, 4:40, :3] = (0.1, 0.1, 0.8)  # one touching annotation region
    _predict_box(outputs, slice(8, 12), slice(7, 17), (4, 5, 20, 15), kind=2)
    _predict_box(outputs, slice(8, 12), slice(24, 36), (20, 5, 40, 15), kind=2)
    _predict_box(outputs, slice(28, 31), slice(20, 30), (10, 25, 50, 35), kind=1)
    found = decode(outputs, 0.5, (160, 240), config)
    assert [(f.kind, f.box.as_tuple()) for f in found] == [
        (HandwritingKind.ANNOTATION, (16, 20, 80, 60)),
        (HandwritingKind.ANNOTATION, (80, 20, 160, 60)),
        (HandwritingKind.SIGNATURE, (40, 100, 200, 140)),
    ]


def test_box_head_ignores_regions_without_a_kernel_and_tiny_kernels() -> None:
    config = BOX_HEAD
    outputs = _box_head_outputs(30, 30)
    outputs[2:10, 2:10, :3] = (0.1, 0.1, 0.8)  # a region the net marks but finds no kernel in
    # 4 output px at stride 2 are 16 input px < min_kernel_area_px
    _predict_box(outputs, slice(20, 22), slice(20, 22), (18, 18, 24, 24), kind=2)
    assert decode(outputs, 1.0, (60, 60), config) == []


def test_a_kernel_whose_class_wavers_gives_one_box_of_the_class_most_of_it_leans_to() -> None:
    """GIVEN one kernel region, mostly signature but with an annotation-leaning strip THEN one
    signature box comes out, not a signature box and an annotation box over it."""
    outputs = _box_head_outputs(30, 40)
    _predict_box(outputs, slice(10, 20), slice(5, 35), (2, 6, 38, 24), kind=1)
    outputs[10:20, 25:30, :3] = (0.1, 0.35, 0.55)  # wavers: annotation wins here, per pixel
    found = decode(outputs, 1.0, (60, 80), BOX_HEAD)
    assert [(f.kind, f.box.as_tuple()) for f in found] == [(HandwritingKind.SIGNATURE, (4, 12, 76, 48))]
    assert found[0].score == pytest.approx(1.0 - (5 * 0.1) / 30)


def test_the_annotation_prior_weighs_the_class_decision_and_nothing_else() -> None:
    """GIVEN a kernel region whose mean class probabilities are signature 0.5, annotation 0.4
    THEN it is a signature box with the net's own decision (prior 1), an annotation box with
    prior 1.5 (0.6 > 0.5), and a signature box again with prior 1.2 (0.48 < 0.5); its edges and
    score stay the same."""
    outputs = _box_head_outputs(30, 40)
    _predict_box(outputs, slice(10, 20), slice(5, 35), (2, 6, 38, 24), kind=1)
    outputs[10:20, 5:35, :3] = (0.1, 0.5, 0.4)
    decided = {
        prior: decode(outputs, 1.0, (60, 80), replace(BOX_HEAD, annotation_prior=prior))
        for prior in (1.0, 1.5, 1.2)
    }
    assert {prior: [f.kind for f in found] for prior, found in decided.items()} == {
        1.0: [HandwritingKind.SIGNATURE],
        1.5: [HandwritingKind.ANNOTATION],
        1.2: [HandwritingKind.SIGNATURE],
    }
    assert {(f.box, f.score) for found in decided.values() for f in found} == {
        (decided[1.0][0].box, decided[1.0][0].score)
    }


def test_a_quarter_resolution_net_decodes_in_original_pixels() -> None:
    """At output stride 4 a pixel covers 4 input pixels: the same kernel decodes to the same
    original box as twice the pixels at stride 2."""
    config = DetectorConfig(stem="strided", box_head=True, output_stride=4)
    outputs = _box_head_outputs(20, 30)
    _predict_box(outputs, slice(4, 7), slice(4, 12), (2, 2.5, 14, 8), kind=2)
    found = decode(outputs, 0.5, (160, 240), config)
    assert [(f.kind, f.box.as_tuple()) for f in found] == [(HandwritingKind.ANNOTATION, (16, 20, 112, 64))]


def test_two_kernels_of_one_field_decode_to_one_box_when_merging() -> None:
    """GIVEN two kernel regions that predict nested boxes of one annotation, and a signature box
    overlapping the larger one THEN with merge_share 0.5 the annotation boxes become their union
    and the signature stays; without merging all three come out."""
    outputs = _box_head_outputs(40, 60)
    _predict_box(outputs, slice(8, 11), slice(6, 16), (4, 5, 40, 15), kind=2)
    _predict_box(outputs, slice(8, 11), slice(24, 30), (20, 4, 44, 14), kind=2)
    _predict_box(outputs, slice(14, 17), slice(30, 40), (28, 12, 50, 20), kind=1)
    kept = decode(outputs, 1.0, (80, 120), replace(BOX_HEAD, merge_share=None))
    assert len(kept) == 3
    merged = decode(outputs, 1.0, (80, 120), replace(BOX_HEAD, merge_share=0.5))
    assert [(f.kind, f.box.as_tuple()) for f in merged] == [
        (HandwritingKind.ANNOTATION, (8, 8, 88, 30)),
        (HandwritingKind.SIGNATURE, (56, 24, 100, 40)),
    ]


def test_merging_follows_chains_keeps_the_best_score_and_leaves_small_overlaps() -> None:
    def annotation(box: tuple[int, int, int, int], score: float) -> Detection:
        return Detection(HandwritingKind.ANNOTATION, Box(*box), score)

    # The first and last share 20%, but each shares 60% with the middle one.
    chain = [
        annotation((0, 0, 10, 10), 0.6),
        annotation((4, 0, 14, 10), 0.9),
        annotation((8, 0, 18, 10), 0.7),
    ]
    assert merge_overlapping(chain, 0.5) == [annotation((0, 0, 18, 10), 0.9)]
    apart = [annotation((0, 0, 10, 10), 0.6), annotation((8, 0, 18, 10), 0.9)]  # 20% of the smaller
    assert merge_overlapping(apart, 0.5) == apart


def test_of_two_classes_on_one_field_the_better_box_stays() -> None:
    """GIVEN initials found as a signature (0.95) and, mostly inside it, an annotation (0.7), and an
    annotation beside them WHEN other-class overlaps are dropped THEN the signature and the
    annotation beside it stay; same-class overlaps are not this rule's business."""
    signature = Detection(HandwritingKind.SIGNATURE, Box(10, 0, 40, 20), 0.95)
    inside = Detection(HandwritingKind.ANNOTATION, Box(0, 0, 30, 20), 0.7)  # 2/3 of it overlaps
    beside = Detection(HandwritingKind.ANNOTATION, Box(36, 0, 60, 20), 0.8)  # 1/6 of it overlaps
    assert drop_other_class_overlaps([inside, signature, beside], 0.5) == [signature, beside]
    assert drop_other_class_overlaps([inside, signature, beside], 0.7) == [signature, beside, inside]
    twins = [inside, Detection(HandwritingKind.ANNOTATION, Box(0, 0, 30, 20), 0.6)]
    assert drop_other_class_overlaps(twins, 0.5) == twins


def test_configs_written_before_the_box_head_load_as_the_first_design(tmp_path: Path) -> None:
    """A `detector.json` without `stem` and `box_head` (the shipped one) describes an fcn-v1 net:
    full-resolution stem, class head only."""
    path = tmp_path / CONFIG_FILE
    path.write_text('{"version": "fcn-v1", "base_filters": 16, "min_area_px": 40}', encoding="utf-8")
    config = DetectorConfig.load(path)
    assert (config.stem, config.box_head, config.output_channels) == ("full", False, 3)
    assert build_model(config).output_shape[-1] == 3
    assert BOX_HEAD.output_channels == 8 and build_model(BOX_HEAD).output_shape[-1] == 8


def test_an_unknown_stem_or_output_stride_is_refused() -> None:
    with pytest.raises(ConfigError, match="full, strided"):
        DetectorConfig(stem="wide")
    with pytest.raises(ConfigError, match="2, 4"):
        DetectorConfig(output_stride=8)
    with pytest.raises(ConfigError, match="merge_share"):
        DetectorConfig(merge_share=0.0)
    with pytest.raises(ConfigError, match="class_overlap_share"):
        DetectorConfig(class_overlap_share=1.5)
    with pytest.raises(ConfigError, match="short_side_px"):
        DetectorConfig(short_side_px=32)
    with pytest.raises(ConfigError, match="test_scales"):
        DetectorConfig(test_scales=())
    with pytest.raises(ConfigError, match="test_scales"):
        DetectorConfig(test_scales=(1.0, 0.0))
    with pytest.raises(ConfigError, match="annotation_prior must be positive"):
        replace(BOX_HEAD, annotation_prior=0.0)
    with pytest.raises(ConfigError, match="only applies to the box head"):
        DetectorConfig(annotation_prior=1.5)
    with pytest.raises(ConfigError, match="float32, bfloat16"):
        build_model(BOX_HEAD, compute_dtype="float16")


def test_a_net_trained_in_bfloat16_loads_into_the_float32_net(tmp_path: Path) -> None:
    """Mixed bfloat16 keeps float32 weights and float32 heads, so its weights serve inference in
    float32 and give (up to bfloat16 rounding) the same outputs, at 1/4 of the input here."""
    config = DetectorConfig(stem="strided", box_head=True, output_stride=4, base_filters=8)
    mixed = build_model(config, compute_dtype="bfloat16")
    page = np.random.default_rng(0).random((1, 64, 96, 1), dtype=np.float32)
    mixed_out = np.asarray(mixed(page, training=False))
    assert mixed_out.dtype == np.float32 and mixed_out.shape == (1, 16, 24, 8)
    mixed.save_weights(str(tmp_path / config.weights))
    plain = build_model(config)
    plain.load_weights(str(tmp_path / config.weights))
    plain_out = np.asarray(plain(page, training=False))
    assert np.abs(plain_out - mixed_out).max() < 0.05


def test_a_saved_config_loads_unchanged(tmp_path: Path) -> None:
    config = DetectorConfig(
        stem="strided",
        box_head=True,
        output_stride=4,
        kernel_shrink=0.3,
        min_kernel_area_px=9,
        test_scales=(0.9, 1.0, 1.1),
        annotation_prior=1.5,
        member_weights=("detector-2.weights.h5",),
    )
    config.save(tmp_path / CONFIG_FILE)
    assert DetectorConfig.load(tmp_path / CONFIG_FILE) == config


def test_a_model_of_several_nets_reads_the_mean_of_their_outputs(tmp_path: Path) -> None:
    """GIVEN two differently initialised tiny box-head nets, each saved as a one-net model, and a
    model naming both THEN the two-net model's outputs (at every test scale) are the mean of the
    one-net models' outputs; a member whose weights are missing is named in the error."""
    config = DetectorConfig(
        version="fcn-v2", stem="strided", box_head=True, base_filters=8, short_side_px=128,
        test_scales=(0.9, 1.0),
    )  # fmt: skip
    names = ("detector.weights.h5", "detector-2.weights.h5")
    for folder_name, weights in (("first", names[0]), ("second", names[1])):
        folder = tmp_path / folder_name
        folder.mkdir()
        keras.utils.set_random_seed(len(folder_name))
        build_model(config).save_weights(str(folder / weights))
        replace(config, weights=weights).save(folder / CONFIG_FILE)
        (tmp_path / "both").mkdir(exist_ok=True)
        (tmp_path / "both" / weights).write_bytes((folder / weights).read_bytes())
    replace(config, member_weights=names[1:]).save(tmp_path / "both" / CONFIG_FILE)
    page = np.random.default_rng(2).integers(0, 256, size=(301, 233, 3), dtype=np.uint8)
    first, factor = TfBoxDetector(tmp_path / "first", threads=1).outputs(page)
    second, _ = TfBoxDetector(tmp_path / "second", threads=1).outputs(page)
    both, both_factor = TfBoxDetector(tmp_path / "both", threads=1).outputs(page)
    assert both_factor == factor and not np.allclose(first, second, atol=1e-3)
    np.testing.assert_allclose(both, (first + second) / 2, atol=1e-5)
    (tmp_path / "both" / names[1]).unlink()
    with pytest.raises(DependencyError, match=r"detector-2\.weights\.h5"):
        TfBoxDetector(tmp_path / "both")


def test_the_second_look_is_a_reading_at_that_scale_alone() -> None:
    """GIVEN the shipped model and a page with handwriting WHEN looking again at 1.3
    THEN the boxes are those of a reading at 1.3 alone, and they differ from the usual reading."""
    from tests.factories import synthetic_pages

    detector = TfBoxDetector(SHIPPED, threads=2)
    image = synthetic_pages(1, seed=7)[0].image
    larger = detector.boxes(detector.read(image, (1.3,)))
    assert any(item.kind is HandwritingKind.ANNOTATION for item in larger), "handwriting should show at 1.3"

    assert detector.second_look(image, scale=1.3) == larger
    assert detector.second_look(image, scale=1.3) != detector.detect(image)
