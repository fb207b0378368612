"""Putting handwriting back where its anchor token was read."""

from __future__ import annotations

from indexer.config import MergeSettings
from indexer.document import Box, HandwritingKind, Page, Placement, Span, Word
from indexer.processors.merge import MergeText, normalise_digits

LINE_HEIGHT = 30


def _word(text: str, x0: int, line: int, *, width: int | None = None, block: int = 1) -> Word:
    y0 = 100 + line * 40
    return Word(
        text, Box(x0, y0, x0 + (width or 12 * len(text)), y0 + LINE_HEIGHT), 0.95, block=block, line=line
    )


def _span(anchor: str, box: Box, text: str, *, kind: HandwritingKind = HandwritingKind.ANNOTATION) -> Span:
    return Span(id=f"h-{anchor}", kind=kind, box=box, detection_score=0.9, anchor=anchor, text=text)


def _merge(words: list[Word], spans: list[Span]) -> Page:
    page = Page(number=1, dpi=200, width=1700, height=2200, words=words, spans=spans)
    return MergeText(MergeSettings())(page)


def test_exact_token_is_replaced_in_place() -> None:
    span = _span("83728", Box(300, 100, 420, 130), "2/23/12")
    words = [_word("commencing", 100, 0), _word("83728", 310, 0), _word("and", 440, 0)]

    page = _merge(words, [span])

    assert page.content == "commencing 2/23/12 and"
    assert span.placement is Placement.EXACT
    assert page.content[span.start : span.end] == "2/23/12"
    assert page.printed_text == "commencing and"


def test_token_read_with_confusions_is_fuzzy() -> None:
    span = _span("83728", Box(300, 100, 420, 130), "$40,900.00")
    words = [_word("rent", 100, 0), _word("B372B", 310, 0), _word("per", 440, 0)]

    page = _merge(words, [span])

    assert page.content == "rent $40,900.00 per"
    assert span.placement is Placement.FUZZY


def test_token_split_in_two_is_fuzzy_and_leaves_no_digits() -> None:
    span = _span("81238", Box(300, 100, 420, 130), "Jane Doe")
    words = [_word("by", 100, 0), _word("81", 305, 0), _word("238", 335, 0), _word("hereby", 440, 0)]

    page = _merge(words, [span])

    assert page.content == "by Jane Doe hereby"
    assert span.placement is Placement.FUZZY


def test_token_glued_to_neighbours_keeps_their_text() -> None:
    span = _span("84448", Box(300, 100, 400, 130), "July 15, 2011")
    words = [_word("as", 100, 0), _word("of84448.", 260, 0, width=130), _word("The", 440, 0)]

    page = _merge(words, [span])

    assert page.content == "as of July 15, 2011. The"


def test_token_tail_glued_to_the_next_word_is_stripped() -> None:
    span = _span("83678", Box(300, 100, 360, 130), "WJ")
    words = [_word("said", 200, 0, width=50), _word("8367", 300, 0, width=60), _word("8parties", 362, 0)]

    page = _merge(words, [span])

    assert page.content == "said WJ parties"


def test_lost_token_is_placed_by_geometry_between_its_neighbours() -> None:
    """GIVEN a box whose token the OCR did not read at all
    WHEN merging
    THEN the span is inserted on the line through its centre, after the words left of it."""
    span = _span("85558", Box(300, 100, 420, 130), "Suite 200")
    words = [_word("located", 100, 0), _word("at", 200, 0), _word("in", 450, 0), _word("Dallas", 500, 0)]

    page = _merge(words, [span])

    assert page.content == "located at Suite 200 in Dallas"
    assert span.placement is Placement.GEOMETRY


def test_span_below_every_line_gets_a_line_of_its_own() -> None:
    span = _span("85558", Box(300, 400, 600, 460), "Robert Artz")
    words = [_word("Name:", 100, 0), _word("Title:", 300, 1)]

    page = _merge(words, [span])

    assert page.content.splitlines() == ["Name:", "Title:", "Robert Artz"]


def test_ocr_noise_inside_a_blanked_box_is_dropped() -> None:
    span = _span("83728", Box(300, 100, 500, 160), "2/23/12")
    words = [
        _word("on", 100, 0),
        _word("83728", 320, 0),
        _word("~:", 460, 0, width=20),
        _word("rent", 520, 0),
    ]

    page = _merge(words, [span])

    assert page.content == "on 2/23/12 rent"


def test_signature_becomes_the_marker_and_no_token_survives() -> None:
    signature = _span("86668", Box(300, 100, 500, 140), "scribble", kind=HandwritingKind.SIGNATURE)
    words = [_word("By:", 100, 0), _word("86668", 320, 0), _word("Date:", 520, 0)]

    page = _merge(words, [signature])

    assert page.content == "By: [signature] Date:"
    assert "86668" not in page.content
    assert "86668" not in page.printed_text


def test_every_span_appears_exactly_once() -> None:
    spans = [
        _span("81118", Box(300, 100, 400, 130), "alpha"),
        _span("82228", Box(300, 140, 400, 170), "beta"),
        _span("83338", Box(600, 300, 700, 330), "gamma"),
    ]
    words = [_word("one", 100, 0), _word("81118", 310, 0), _word("two", 100, 1), _word("B222B", 305, 1)]

    page = _merge(words, spans)

    for text in ("alpha", "beta", "gamma"):
        assert page.content.count(text) == 1
    assert [span.placement for span in spans] == [Placement.EXACT, Placement.FUZZY, Placement.GEOMETRY]


def test_normalise_digits_keeps_length() -> None:
    assert normalise_digits("B3S&8") == "83888"
    assert len(normalise_digits("any text")) == len("any text")


def test_a_line_the_ocr_split_around_a_box_is_joined_in_reading_order() -> None:
    """GIVEN a line whose right part (after the blanked box) the OCR put in a later block, read
    after the next line WHEN merging THEN the parts are one line again, the span between them."""
    span = _span("88598", Box(560, 100, 760, 130), "1/23/2007")
    words = [
        _word("days", 100, 0),
        _word("parties", 400, 0),
        _word("88598", 600, 0),
        _word("and", 100, 1),
        _word("more", 200, 1),
        _word("building", 800, 0, block=2),
        _word("witness", 920, 0, block=2),
    ]

    page = _merge(words, [span])

    assert page.content.splitlines() == ["days parties 1/23/2007 building witness", "and more"]


def test_columns_far_apart_without_a_box_between_stay_apart() -> None:
    words = [_word("left", 100, 0), _word("column", 160, 0), _word("right", 900, 0, block=2)]

    page = _merge(words, [])

    assert page.content == "left column\n\nright"


def test_a_badly_read_label_touching_a_box_stays_but_rules_read_as_words_go() -> None:
    """GIVEN `By:` misread as `Bye` (its box reaches the signature's box) and an underscore rule
    read as a flat word WHEN merging THEN the label stays and the rule is dropped."""
    signature = _span("83968", Box(257, 100, 664, 169), "", kind=HandwritingKind.SIGNATURE)
    signature.anchor_box = Box(251, 94, 670, 175)
    label = Word("Bye", Box(117, 135, 251, 167), 0.0, block=1, line=0)
    rule = Word("easiness", Box(700, 163, 760, 166), 0.1, block=1, line=0)
    words = [label, _word("83968", 416, 0), rule, _word("Date:", 790, 0)]

    page = _merge(words, [signature])

    assert page.content == "Bye [signature] Date:"


def test_underscores_glued_to_a_token_are_debris() -> None:
    signature = _span("83178", Box(357, 100, 564, 160), "", kind=HandwritingKind.SIGNATURE)
    words = [_word("Lessor:", 168, 0), _word("___—«831178", 300, 0, width=205), _word("Date:", 759, 0)]

    page = _merge(words, [signature])

    assert page.content == "Lessor: [signature] Date:"
    assert signature.placement is Placement.FUZZY


def test_overlapping_boxes_each_keep_their_own_token() -> None:
    """GIVEN an annotation box inside a signature box (the detector overlaps them), its token
    read right beside the signature's misread one WHEN merging THEN each span takes its own."""
    signature = _span("87938", Box(190, 95, 690, 170), "", kind=HandwritingKind.SIGNATURE)
    annotation = _span("84448", Box(420, 100, 620, 160), "Vice President")
    words = [
        _word("By:", 100, 0, width=60),
        _word("8793B", 250, 0, width=90),
        _word("84448", 440, 0, width=90),
        _word("Date:", 700, 0),
    ]

    page = _merge(words, [signature, annotation])

    assert page.content == "By: [signature] Vice President Date:"
    assert (signature.placement, annotation.placement) == (Placement.FUZZY, Placement.EXACT)


def test_a_token_read_twice_is_dropped_not_failed() -> None:
    span = _span("83728", Box(300, 100, 420, 130), "2/23/12")
    words = [_word("on", 100, 0), _word("83728", 310, 0), _word("rent", 440, 0), _word("83728", 900, 3)]

    page = _merge(words, [span])

    assert page.content == "on 2/23/12 rent"
