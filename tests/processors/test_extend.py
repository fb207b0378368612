"""extend_boxes: an annotation box cut short takes in the rest of its handwritten line."""

from __future__ import annotations

import numpy as np

from indexer.config import ExtendSettings
from indexer.document import Box, HandwritingKind, HandwritingMap, Page, Span, Word
from indexer.processors.extend import ExtendBoxes
from indexer.processors.rules import FindRules

#: The detector boxed `20101 Hamilt` of a line that goes on with `on Avenue`.
BOX = Box(600, 840, 900, 900)
CELL_PX = 10


def _map(*handwritten: Box) -> HandwritingMap:
    """A 1700x2200 page's map: 0.02 everywhere, 0.6 over the given boxes."""
    probability = np.full((220, 170), 0.02, dtype=np.float32)
    for box in handwritten:
        probability[box.y0 // CELL_PX : box.y1 // CELL_PX, box.x0 // CELL_PX : box.x1 // CELL_PX] = 0.6
    return HandwritingMap(probability, CELL_PX)


def _page(words: list[Word], spans: list[Span], handwriting: HandwritingMap | None) -> Page:
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=spans, words=words)
    page.handwriting_map = handwriting
    return page


def _span(box: Box = BOX, kind: HandwritingKind = HandwritingKind.ANNOTATION, name: str = "p1-h0") -> Span:
    return Span(id=name, kind=kind, box=box, detection_score=0.9)


def _word(text: str, x0: int, x1: int, *, y0: int = 850, y1: int = 885) -> Word:
    return Word(text, Box(x0, y0, x1, y1), 0.6)


def test_the_rest_of_the_line_joins_the_box_and_leaves_the_page_words() -> None:
    """GIVEN words right of the box that the map calls handwriting, then print
    WHEN extending THEN the box takes the handwritten words only, and they leave `page.words`."""
    words = [_word("on", 910, 940), _word("Avenue.", 950, 1060), _word("[Street", 1200, 1290)]
    page = _page(words, [_span()], _map(Box(600, 840, 1070, 900)))

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == Box(600, 840, 1060, 900)
    assert [word.text for word in page.words] == ["[Street"]


def test_the_walk_stops_at_a_label_a_wide_gap_or_print() -> None:
    """GIVEN handwriting-looking words beyond a label, beyond a gap wider than half the box's
    height, and beyond a word the map calls print WHEN extending THEN none of them is taken."""
    handwritten = _map(Box(0, 800, 1700, 950))
    cases = [
        [_word("Date:", 910, 980), _word("2011", 990, 1060)],
        [_word("DATE", 910, 980), _word("2011", 990, 1060)],
        [_word("2011", 940, 1000)],  # 40 px from the box: more than 0.5 x its 60 px height
    ]
    for words in cases:
        page = _page(list(words), [_span()], handwritten)
        ExtendBoxes(ExtendSettings())(page)
        assert page.spans[0].box == BOX and page.words == words

    printed_between = _map(Box(600, 840, 900, 900), Box(1000, 840, 1100, 900))
    words = [_word("the", 910, 960), _word("2011", 1000, 1060)]
    page = _page(list(words), [_span()], printed_between)
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == BOX and page.words == words


def test_the_walk_takes_no_word_of_a_bracketed_caption() -> None:
    """GIVEN a box that took in the end of `(Print Name and Official title)`, beside the caption's
    other words, which the map calls handwriting (it runs high over print touching writing), and
    a box followed by a caption's closing word WHEN extending THEN neither box takes them."""
    handwritten = _map(Box(0, 800, 1700, 950))
    caption = [
        _word("(Print", 300, 360),
        _word("Name", 370, 430),
        _word("and", 480, 520),
        _word("Official", 530, 590),
    ]
    page = _page(list(caption), [_span()], handwritten)

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == BOX and page.words == caption

    closing = [_word("lille)", 905, 960), _word("Services", 970, 1060)]
    page = _page(list(closing), [_span()], handwritten)
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == BOX

    # a scrawl the OCR ends with a bracket is no caption word, and a list number `(1)` further
    # out leaves no bracket open
    for words in ([_word("17]", 905, 960)], [_word("(1)", 300, 330), _word("Chase", 500, 590)]):
        page = _page(list(words), [_span()], handwritten)
        ExtendBoxes(ExtendSettings())(page)
        assert page.spans[0].box != BOX, words


def test_a_bracket_beyond_a_gap_or_a_token_opens_no_caption_around_the_word() -> None:
    """GIVEN writing right of the box, then, beyond a wide gap or an anchor token, print that
    closes a bracket (`the "Deed")`) WHEN extending THEN the writing joins."""
    handwritten = _map(Box(600, 840, 1010, 900))
    for words in (
        [_word("De", 910, 960), _word('Deed")', 1200, 1290)],
        [_word("De", 910, 960), _word("81238", 970, 1050), _word('Deed")', 1060, 1150)],
    ):
        page = _page(list(words), [_span()], handwritten)
        ExtendBoxes(ExtendSettings())(page)
        assert page.spans[0].box == Box(600, 840, 960, 900), words


def test_words_after_a_closed_caption_still_join() -> None:
    """GIVEN handwriting right of the box, then a whole caption further on WHEN extending THEN the
    handwriting joins and the caption stays."""
    words = [_word("Avenue", 910, 1000), _word("(Address)", 1200, 1290)]
    page = _page(list(words), [_span()], _map(Box(600, 840, 1010, 900)))

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == Box(600, 840, 1000, 900)
    assert [word.text for word in page.words] == ["(Address)"]


def test_both_sides_grow_and_words_of_other_lines_stay() -> None:
    words = [
        _word("Chase", 480, 590),
        _word("limited", 905, 1000),
        _word("Lessor", 905, 1000, y0=920, y1=950),  # the next line
    ]
    page = _page(list(words), [_span()], _map(Box(0, 800, 1700, 1000)))

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == Box(480, 840, 1000, 900)
    assert [word.text for word in page.words] == ["Lessor"]


def test_signatures_tokens_and_masked_words_are_left_alone() -> None:
    """A signature box keeps its extent; an anchor token or a word inside another box is never
    taken (it belongs to that box's text)."""
    other = Box(910, 840, 1000, 900)
    words = [_word("80128", 905, 990), _word("scrawl", 1010, 1100), _word("late", 480, 590)]
    spans = [_span(kind=HandwritingKind.SIGNATURE), _span(other, name="p1-h1")]
    page = _page(list(words), spans, _map(Box(0, 800, 1700, 1000)))

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == BOX
    assert page.spans[1].box == Box(910, 840, 1100, 900)  # the annotation took `scrawl`
    assert [word.text for word in page.words] == ["80128", "late"]


def test_without_a_map_or_a_rule_nothing_changes() -> None:
    """A detector that gives no probabilities (TFOD) leaves boxes on no rule as they are."""
    words = [_word("on", 910, 940)]
    page = _page(list(words), [_span()], None)

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == BOX and page.words == words


def test_the_map_mean_covers_the_cells_a_box_touches() -> None:
    handwriting = HandwritingMap(np.array([[0.0, 1.0], [0.5, 0.5]], dtype=np.float32), 10.0)

    assert handwriting.mean(Box(0, 0, 20, 10)) == 0.5  # the top row
    assert handwriting.mean(Box(12, 0, 14, 4)) == 1.0  # a box inside one cell
    assert handwriting.mean(Box(15, 15, 60, 60)) == 0.5  # clipped to the grid


def test_the_box_grows_sideways_only() -> None:
    """A word beside the box that reaches into the lines above and below (a tall capital, a
    caption it touches) widens the box but leaves its top and bottom where they were."""
    words = [_word("on", 910, 940, y0=830, y1=915)]
    page = _page(words, [_span()], _map(Box(600, 820, 950, 920)))

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == Box(600, 840, 940, 900)


def test_handwriting_the_ocr_misread_with_a_colon_joins_where_the_map_is_sure() -> None:
    """GIVEN `Harnilk:` (the OCR's reading of handwritten `Hamilton`) right of the box
    WHEN the map calls it handwriting at the bar or more THEN it joins; a real label word
    (`Date:`) or a colon word the map calls handwriting less surely stops the walk."""
    words = [_word("Harnilk:", 910, 1000), _word("Avenue", 1010, 1100)]
    page = _page(list(words), [_span()], _map(Box(600, 840, 1110, 900)))  # 0.6 over the line
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == Box(600, 840, 1100, 900) and page.words == []

    labelled = [_word("Date:", 910, 980), _word("2011", 990, 1060)]
    page = _page(list(labelled), [_span()], _map(Box(600, 840, 1110, 900)))
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == BOX

    page = _page(list(words), [_span()], _map(Box(600, 840, 1110, 900)))
    ExtendBoxes(ExtendSettings(misread_label_probability=0.7))(page)  # the map's 0.6 is not enough
    assert page.spans[0].box == BOX


def _on_rule(text: str, x0: int, x1: int) -> Word:
    """A word written on the rule of `_ruled_page`: its bottom a few pixels above it."""
    return _word(text, x0, x1, y0=862, y1=897)


def _ruled_page(
    words: list[Word], *, rule: tuple[int, int] = (300, 1500), borders: tuple[int, ...] = ()
) -> Page:
    """A white page with a mid-grey rule (as scans draw them) under the box's line from
    `rule[0]` to `rule[1]`, vertical cell borders at `borders`, and a map that calls only the
    detector's box handwriting (neat capitals beside it score as print)."""
    image = np.full((2200, 1700, 3), 255, dtype=np.uint8)
    image[900:903, rule[0] : rule[1]] = 150
    for x in borders:
        image[820:903, x : x + 3] = 40
    page = _page(words, [_span()], _map(BOX))
    page.image = image
    return FindRules()(page)


def test_words_written_on_the_boxes_rule_join_whatever_the_map_says() -> None:
    """GIVEN writing that goes on along the blank's rule, which the map calls print (neat block
    capitals) WHEN extending THEN it joins the box; the same words off any rule stay."""
    words = [_on_rule("LIABILITY", 930, 1080), _on_rule("COMPANY", 1110, 1260)]
    page = _ruled_page(list(words))

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == Box(600, 840, 1260, 900) and page.words == []

    page = _ruled_page(list(words), rule=(0, 0))  # no rule
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == BOX and page.words == words

    page = _ruled_page(list(words))
    ExtendBoxes(ExtendSettings(rule_max_gap_heights=None))(page)  # the rule walk off
    assert page.spans[0].box == BOX


def test_the_rule_walk_stops_at_labels_borders_small_print_and_the_rules_end() -> None:
    """GIVEN words on the box's line that are a label, small print, past a cell border (read as
    `P`), past the rule's end or well above it (a caption at the top of the next cell)
    WHEN extending THEN the walk stops before each."""
    cases: list[tuple[list[Word], dict[str, object]]] = [
        ([_on_rule("Date:", 930, 1000), _on_rule("2011", 1010, 1080)], {}),
        ([_word("PAGE", 930, 1000, y0=880, y1=897)], {}),  # 17 px tall beside 60 px writing
        ([_word("P", 930, 945, y0=840, y1=900), _on_rule("2011", 960, 1030)], {"borders": (935,)}),
        ([_on_rule("2011", 1010, 1080)], {"rule": (300, 950)}),  # the rule ends under the box
        ([_word("PART", 930, 1000, y0=847, y1=882)], {}),  # a caption high in the next cell
    ]
    for words, options in cases:
        page = _ruled_page(list(words), **options)  # type: ignore[arg-type]
        ExtendBoxes(ExtendSettings())(page)
        assert page.spans[0].box == BOX and page.words == words, words


def test_on_the_rule_a_colon_word_the_ocr_doubts_is_writing() -> None:
    """`Ham:` (the OCR's unsure reading of handwritten `Hamilton`) joins along the rule; a colon
    word the OCR is sure of is a printed label and stops the walk."""
    unsure = Word("Ham:", Box(930, 862, 1010, 897), 0.29)
    page = _ruled_page([unsure])
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == Box(600, 840, 1010, 900)

    sure = Word("Lease:", Box(930, 862, 1010, 897), 0.96)
    page = _ruled_page([sure])
    ExtendBoxes(ExtendSettings())(page)
    assert page.spans[0].box == BOX


def test_without_a_map_the_rule_walk_still_runs() -> None:
    """A detector that gives no probabilities (TFOD): writing on the box's rule still joins it."""
    page = _ruled_page([_on_rule("LIABILITY", 930, 1080)])
    page.handwriting_map = None

    ExtendBoxes(ExtendSettings())(page)

    assert page.spans[0].box == Box(600, 840, 1080, 900) and page.words == []
