from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.document import Box, HandwritingKind
from indexer.errors import InputError
from indexer.model_dirs.detector import DetectorConfig
from indexer.training.data.paste import PasteSource, paste_handwriting
from indexer.training.data.voc import LabelledBox
from indexer.training.detector.options import TrainOptions
from indexer.training.detector.targets import SampleSource, page_sample

_SIGNED = Box(20, 20, 60, 40)  # the donor's labelled box, in the grey's pixels


def _donor() -> tuple[np.ndarray, list[LabelledBox]]:
    """A grey page whose one labelled box holds a dark stroke on slightly grey paper."""
    grey = np.full((400, 200), 230, np.uint8)
    grey[28:32, 25:55] = 20
    return grey, [LabelledBox(HandwritingKind.ANNOTATION, _SIGNED.scaled(2.0))]


def test_pasted_writing_lands_on_blank_paper_beside_the_boxes_and_only_darkens_it() -> None:
    """GIVEN a donor page with one labelled stroke and a page with a printed bar and a labelled box
    WHEN cuts are pasted THEN each new box (original pixels) holds the stroke's ink, overlaps no
    other box, the donor's grey paper does not darken the white page, and no pixel gets lighter."""
    donor_grey, donor_boxes = _donor()
    source = PasteSource([donor_grey], [donor_boxes], factor=0.5)
    page = np.full((300, 400), 255, np.uint8)
    page[250:260, 10:390] = 0  # print
    own = [LabelledBox(HandwritingKind.SIGNATURE, Box(20, 20, 200, 120))]  # original pixels
    pasted, boxes = paste_handwriting(page, own, source, np.random.default_rng(1), count=3)

    new = boxes[1:]
    assert boxes[0] == own[0] and len(new) == 3
    assert all(item.kind is HandwritingKind.ANNOTATION for item in new)
    assert np.all(pasted <= page)
    for index, item in enumerate(new):
        spot = item.box.scaled(0.5)
        assert pasted[spot.y0 : spot.y1, spot.x0 : spot.x1].min() < 60  # the stroke
        assert all(spot.intersection(other.box.scaled(0.5)) == 0 for other in boxes if other is not item)
        assert index == 0 or spot != new[0].box.scaled(0.5)
    outside = np.ones(page.shape, bool)
    for item in new:
        spot = item.box.scaled(0.5)
        outside[spot.y0 : spot.y1, spot.x0 : spot.x1] = False
    assert np.array_equal(pasted[outside], page[outside])
    # The donor's paper (230) was lifted to white: it leaves no grey rectangle behind.
    assert np.mean(pasted[~outside] == 255) > 0.5


def test_a_page_with_no_room_gets_no_paste() -> None:
    donor_grey, donor_boxes = _donor()
    source = PasteSource([donor_grey], [donor_boxes], factor=0.5)
    page = np.zeros((60, 60), np.uint8)  # all ink: no spot is blank, none is light enough for print
    pasted, boxes = paste_handwriting(page, [], source, np.random.default_rng(0), count=4)
    assert boxes == []
    assert np.array_equal(pasted, page)


def test_copy_paste_in_training_crops_adds_labelled_pixels_and_is_spelled_out(tmp_path: Path) -> None:
    """GIVEN a page with one labelled box and a blank half WHEN every crop's page gets pastes THEN
    the crops hold more labelled pixels than without, and the card's command names the share."""
    config = DetectorConfig(stem="strided", box_head=True, output_stride=4, base_filters=4, short_side_px=96)
    image = np.full((400, 300), 255, np.uint8)
    image[40:60, 40:120] = 0
    page = page_sample(image, [LabelledBox(HandwritingKind.ANNOTATION, Box(30, 30, 130, 70))], "p")

    def labelled(share: float) -> int:
        source = SampleSource([page], config, crop_px=96, scale_range=(1.0, 1.0), paste_share=share)
        rng = np.random.default_rng(3)
        return sum(int((source.sample(rng)[1][..., 0] > 0).sum()) for _ in range(20))

    assert labelled(1.0) > labelled(0.0)
    argv = TrainOptions(data_dirs=[], out_dir=tmp_path, paste_share=0.5).to_argv()
    assert argv[argv.index("--paste-share") + 1] == "0.5"
    assert "--paste-share" not in TrainOptions(data_dirs=[], out_dir=tmp_path).to_argv()
    with pytest.raises(InputError, match="between 0 and 1"):
        TrainOptions(data_dirs=[], out_dir=tmp_path, paste_share=1.5)
