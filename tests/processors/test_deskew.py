"""A slanted scan is measured and turned straight before any step reads it."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.config import DeskewSettings
from indexer.document import Box, Page
from indexer.processors.deskew import DeskewPages, estimate_skew, turned_box

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
#: The projection profile resolves about 0.1 degree on a page this size.
TOLERANCE_DEG = 0.15
#: The rule drawn across the page, in the straight page's pixels.
RULE = (150, 1900, 1550, 1904)


def _form_page(slant_degrees: float = 0.0) -> np.ndarray:
    """A 1700 x 2200 page of printed lines and one long rule, turned `slant_degrees` (PIL:
    counter-clockwise) as a slanted scan would be."""
    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(SERIF, 30)
    for row in range(30):
        draw.text(
            (150, 150 + 50 * row), f"{row + 1}. The Lessee shall pay the rent on the first day", font=font
        )
    draw.rectangle(RULE, fill=0)
    turned = image.rotate(slant_degrees, resample=Image.BICUBIC, fillcolor=255)
    return np.asarray(turned.convert("RGB"))


@pytest.mark.parametrize("slant", [1.5, -2.0, 4.0])
def test_the_skew_of_a_slanted_page_is_measured(slant: float) -> None:
    """GIVEN a page scanned `slant` degrees counter-clockwise WHEN its skew is estimated THEN the
    angle that turns it back is found."""
    assert estimate_skew(_form_page(slant), max_degrees=5.0) == pytest.approx(-slant, abs=TOLERANCE_DEG)


def test_a_straight_page_and_a_blank_page_measure_no_skew() -> None:
    assert estimate_skew(_form_page(), max_degrees=5.0) == pytest.approx(0.0, abs=TOLERANCE_DEG)
    blank = np.full((2200, 1700, 3), 255, dtype=np.uint8)
    assert estimate_skew(blank, max_degrees=5.0) == 0.0


def test_a_page_of_specks_measures_no_skew() -> None:
    """GIVEN scattered specks and no lines (the best angle is a guess, 5 degrees here before the
    gain check) WHEN measured THEN no slant is reported."""
    specks = np.full((2200, 1700, 3), 255, dtype=np.uint8)
    specks[np.random.default_rng(0).random((2200, 1700)) < 0.01] = 0
    assert estimate_skew(specks, max_degrees=5.0) == 0.0


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 1000, 3), (1000, 2, 3), (150, 150)])
def test_a_page_too_small_to_measure_is_not_measured(shape: tuple[int, ...]) -> None:
    stripes = np.zeros(shape, dtype=np.uint8)
    stripes[::2] = 255
    assert estimate_skew(stripes, max_degrees=5.0) == 0.0


def _rule_rows(image: np.ndarray) -> int:
    """How many rows the long rule's dark pixels span (its slant shows as more rows)."""
    band = image[RULE[1] - 80 : RULE[3] + 80, RULE[0] + 100 : RULE[2] - 100, 0] < 100
    assert band.any(axis=0).all(), "the rule leaves the band"
    return int(np.ptp(np.nonzero(band)[0])) + 1


def test_a_slanted_page_is_turned_straight_and_says_by_how_much() -> None:
    """GIVEN a page scanned 2 degrees off WHEN it goes through deskew_pages THEN its rule is
    level again (a 1,200 px rule 2 degrees off spans 40 rows) and `skew_degrees` records the turn."""
    page = Page(number=1, dpi=200, width=1700, height=2200, image=_form_page(2.0))
    assert _rule_rows(page.image) > 35

    page = DeskewPages(DeskewSettings())(page)

    assert page.skew_degrees == pytest.approx(-2.0, abs=TOLERANCE_DEG)
    assert page.image is not None and page.image.shape == (2200, 1700, 3)
    assert _rule_rows(page.image) <= 10


def test_a_page_off_by_less_than_the_minimum_is_left_alone() -> None:
    image = _form_page(0.2)
    page = DeskewPages(DeskewSettings())(Page(number=1, dpi=200, width=1700, height=2200, image=image))
    assert page.skew_degrees == 0.0
    assert page.image is image


def test_a_box_turned_with_its_page_and_back_lands_where_it_was() -> None:
    box = Box(200, 300, 600, 360)
    there = turned_box(box, 3.0, 1700, 2200)
    # 3 degrees counter-clockwise about the centre (850, 1100) moves a box up-left of it down-left.
    assert there.y0 > box.y0 and there.x0 < box.x0
    assert (there.width, there.height) == (box.width, box.height)
    back = turned_box(there, -3.0, 1700, 2200)
    assert max(abs(a - b) for a, b in zip(back.as_tuple(), box.as_tuple(), strict=True)) <= 1
    assert turned_box(box, 0.0, 1700, 2200) == box


def test_a_box_at_the_page_edge_turned_past_it_is_cut_to_the_page() -> None:
    turned = turned_box(Box(27, 0, 360, 24), -3.0, 1700, 2200)
    assert turned.y0 == 0 and turned.x0 >= 0 and turned.y1 > 0
