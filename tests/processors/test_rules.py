"""find_rules: the printed rule each handwriting box is written on."""

from __future__ import annotations

import numpy as np

from indexer.document import Box, HandwritingKind, Page, Span, Word
from indexer.processors.rules import FindRules, blank_rule, carries

BOX = Box(600, 840, 900, 900)


def _near(found: Box | None, expected: Box, px: int = 1) -> bool:
    """Within `px` pixels on every edge: the morphology may shift a rule's ends by a pixel."""
    return found is not None and all(
        abs(a - b) <= px for a, b in zip(found.as_tuple(), expected.as_tuple(), strict=True)
    )


def _image() -> np.ndarray:
    return np.full((2200, 1700, 3), 255, dtype=np.uint8)


def test_a_dashed_mid_grey_rule_under_the_box_is_found() -> None:
    """GIVEN a scanned rule under the box, mid-grey and broken into 60 px dashes 3 px apart, a row
    lower every other dash WHEN finding THEN it is one rule spanning all the dashes."""
    image = _image()
    for index, x in enumerate(range(300, 1500, 63)):
        row = 898 + index % 2
        image[row : row + 3, x : x + 60] = 150

    rule = blank_rule(image, BOX, dpi=200)

    assert rule is not None
    assert _near(rule, Box(300, 898, 1557, 902), px=2)


def test_the_lowest_rule_under_half_the_box_or_more_is_the_blanks() -> None:
    image = _image()
    image[880:882, 300:1500] = 0  # underlined writing
    image[905:907, 300:1500] = 0  # the blank
    assert _near(blank_rule(image, BOX, dpi=200), Box(300, 905, 1500, 907))

    short = _image()
    short[900:902, 850:1500] = 0  # starts under the box's last 50 px
    assert blank_rule(short, BOX, dpi=200) is None
    assert blank_rule(_image(), BOX, dpi=200) is None
    dots = _image()
    dots[900:902, 300:1500:12] = 0  # a dotted leader: dots 12 px apart are no rule
    assert blank_rule(dots, BOX, dpi=200) is None


def test_a_word_is_on_the_rule_when_it_sits_on_it_over_its_columns() -> None:
    rule = Box(300, 900, 1500, 902)
    assert carries(rule, Word("LLC", Box(1000, 862, 1080, 897), 0.9))
    assert carries(rule, Word("gy", Box(1000, 870, 1080, 908), 0.9))  # descenders cross it
    assert not carries(rule, Word("PAGE", Box(1000, 842, 1080, 877), 0.9))  # high in the cell
    assert not carries(rule, Word("more", Box(1460, 862, 1600, 897), 0.9))  # past its end


def test_find_rules_fills_each_span_and_the_rule_survives_the_artifact() -> None:
    image = _image()
    image[900:903, 300:1500] = 150
    spans = [
        Span(id="p1-h0", kind=HandwritingKind.ANNOTATION, box=BOX, detection_score=0.9),
        Span(id="p1-h1", kind=HandwritingKind.SIGNATURE, box=Box(600, 300, 900, 400), detection_score=0.9),
    ]
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=spans)
    page.image = image

    FindRules()(page)

    assert _near(page.spans[0].rule, Box(300, 900, 1500, 903))
    assert page.spans[1].rule is None
    assert Page.from_dict(page.to_dict()).spans[0].rule == page.spans[0].rule
