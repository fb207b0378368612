from __future__ import annotations

import numpy as np

from indexer.document import HandwritingKind
from indexer.training.data.synthetic import HandwrittenItem, PrintedWord, render_page, scan_effects


def test_boxes_lie_inside_the_image_and_cover_ink() -> None:
    page = render_page(np.random.default_rng(3))
    height, width = page.image.shape[:2]
    assert page.image.dtype == np.uint8 and page.image.shape == (2200, 1700, 3)
    assert page.handwriting
    for item in page.handwriting:
        assert 0 <= item.box.x0 < item.box.x1 <= width
        assert 0 <= item.box.y0 < item.box.y1 <= height
        crop = page.image[item.box.y0 : item.box.y1, item.box.x0 : item.box.x1]
        assert crop.min() < 128  # there is ink in the box


def test_a_handwritten_item_taken_back_leaves_the_lines_above_intact() -> None:
    """GIVEN pages where a handwritten item at a line's end is taken back (no word follows it)
    WHEN checking every word and item the page lists THEN each still has its ink: taking an item
    back restores what it covered instead of painting paper over lines drawn before it.

    Seed 4 gives such a page: a tall taken-back item reaches into the line above it."""
    page = render_page(np.random.default_rng(4))
    for line in page.lines:
        for entry in line:
            crop = page.image[entry.box.y0 : entry.box.y1, entry.box.x0 : entry.box.x1]
            assert crop.min() < 128, entry


def test_handwriting_sits_between_two_printed_words_of_its_line() -> None:
    """GIVEN a page WHEN reading its lines THEN each handwritten item has printed neighbours."""
    page = render_page(np.random.default_rng(5))
    for line in page.lines:
        for index, item in enumerate(line):
            if isinstance(item, HandwrittenItem):
                assert 0 < index < len(line) - 1
                before, after = line[index - 1], line[index + 1]
                assert isinstance(before, PrintedWord) and isinstance(after, PrintedWord)
                assert before.box.x1 <= item.box.x0 and item.box.x1 <= after.box.x0


def test_pages_are_deterministic_and_have_both_kinds() -> None:
    first = render_page(np.random.default_rng(11))
    again = render_page(np.random.default_rng(11))
    assert np.array_equal(first.image, again.image) and first.lines == again.lines
    kinds = {item.kind for seed in range(4) for item in render_page(np.random.default_rng(seed)).handwriting}
    assert kinds == {HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION}


def test_scan_effects_keep_shape_and_type() -> None:
    page = render_page(np.random.default_rng(1), width_px=600, height_px=800)
    scanned = scan_effects(page.image, np.random.default_rng(1))
    assert scanned.shape == page.image.shape and scanned.dtype == np.uint8
