"""Labels beside handwriting boxes, the kind and type they give, and the fields built from them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from indexer.backends.base import Recognition
from indexer.backends.htr.grammar import FieldType as GrammarType
from indexer.config import EntitySettings
from indexer.document import Box, FieldType, HandwritingKind, KindSource, Label, Page, Span, Word
from indexer.processors.entities import ExtractEntities
from indexer.processors.fields import (
    SURE_SIGNATURE_SCORE,
    ExtractFields,
    FindLabels,
    classify,
    decide_kind,
    field_of,
    find_label,
    printed_words,
)
from indexer.processors.ocr_hand import OcrHandwriting
from tests.factories import HintRecordingRecognizer


def _line(
    texts: Sequence[str], *, x: int, y: int, block: int = 1, line: int = 1, height: int = 30
) -> list[Word]:
    """Printed words left to right from `x`, 20 px per character, 12 px apart."""
    words = []
    for text in texts:
        width = 20 * len(text)
        words.append(Word(text, Box(x, y, x + width, y + height), 0.95, block=block, line=line))
        x += width + 12
    return words


HAND = Box(400, 490, 700, 545)  # a handwriting box on the line at y 500..530


def test_words_left_of_the_box_on_its_line_are_its_label() -> None:
    words = _line(["Lease", "start", "Date:"], x=60, y=500) + _line(["Other", "text"], x=100, y=800, line=2)
    label, kind = find_label(printed_words(words, []), HAND)
    assert label is not None and label.side == "left"
    assert label.text.endswith("Date:")
    assert kind is FieldType.DATE


def test_a_caption_under_the_line_names_a_signature() -> None:
    words = _line(["Signature", "of", "Owner", "or", "Authorized", "Agent"], x=380, y=560, line=2)
    label, kind = find_label(printed_words(words, []), HAND)
    assert label is not None and label.side == "below"
    assert kind is FieldType.SIGNATURE


def test_a_cell_heading_above_names_a_name() -> None:
    words = _line(["16a.", "NAME", "OF", "CONTRACTING", "OFFICER", "(Type", "or", "Print)"], x=390, y=440)
    label, kind = find_label(printed_words(words, []), HAND)
    assert label is not None and label.side == "above"
    assert kind is FieldType.NAME


def test_a_caption_beyond_a_stacked_box_is_that_boxs() -> None:
    """GIVEN `11a. NAME OF OWNER` over a printed name's box, and a signature's box under that one
    WHEN each box's label is found with the other box known
    THEN the caption names the name's box; the signature's box, which it is not next to, gets none."""
    words = _line(["11a.", "NAME", "OF", "OWNER"], x=390, y=440)
    name_box, signature_box = HAND, Box(400, 548, 700, 640)

    assert find_label(printed_words(words, []), name_box, [signature_box])[1] is FieldType.NAME
    assert find_label(printed_words(words, []), signature_box, [name_box]) == (None, None)
    # Without the box between them, the caption reaches the lower box too.
    assert find_label(printed_words(words, []), signature_box)[1] is FieldType.NAME


def test_running_text_is_kept_as_a_label_without_a_type() -> None:
    words = _line(["made", "by", "and", "between"], x=40, y=500)
    label, kind = find_label(printed_words(words, []), HAND)
    assert kind is None
    assert label is not None and label.text == "made by and between"


def test_tokens_and_noise_in_blanked_boxes_are_no_label() -> None:
    words = [
        Word("83418", Box(420, 500, 520, 530), 0.9, block=1, line=1),
        Word("Date:", Box(300, 500, 390, 530), 0.2, block=1, line=1),  # too unsure to be print
    ]
    assert find_label(printed_words(words, [HAND]), HAND) == (None, None)


@pytest.mark.parametrize(
    ("text", "nearest_last", "expected"),
    [
        ("Date:", True, FieldType.DATE),
        ("By:", True, FieldType.SIGNATURE),
        ("Its:", True, FieldType.TITLE),
        ("[TITLE]", False, FieldType.TITLE),
        ("Signature and Date", True, FieldType.DATE),  # the nearer keyword, left of the box
        ("Signature and Date", False, FieldType.SIGNATURE),  # the nearer keyword, in a caption
        ("Monthly Rent $", True, FieldType.AMOUNT),
        ("Zip", True, FieldType.ZIP),
        ("Telephone", True, FieldType.PHONE),
        ("Street Address", True, FieldType.ADDRESS),
        ("its successors and assigns", True, None),
        ("stand by me", True, None),
        ("DATE OF LEASE:", True, FieldType.DATE),
        ("as of the date first above written.", True, None),  # running text: the last words count
        ("made and entered into this date by and", True, None),  # a blank after a function word
        ("Namo:", True, FieldType.NAME),  # OCR's misreading of a label word
        ("Dae:", True, FieldType.DATE),  # a letter of the label lost
        ("Do:", True, None),  # two letters from `date`: not a misreading of it
        ("Due", True, None),  # no colon, no fuzzy match
        ("same", True, None),
        ("[NAME]", False, FieldType.NAME),
        ("Signatures", True, FieldType.SIGNATURE),  # a plural names its type (OCR reads `Signature:` so too)
        ("Dates:", True, FieldType.DATE),
    ],
)
def test_label_words_give_a_type(text: str, nearest_last: bool, expected: FieldType | None) -> None:
    assert classify(text, nearest_last=nearest_last) is expected


def test_the_label_decides_the_kind_and_the_detector_is_the_prior() -> None:
    left = Label("Date:", Box(300, 500, 390, 530), "left", line_height=30)
    below = Label("(Signature)", Box(400, 560, 560, 590), "below", line_height=30)
    written = Box(400, 490, 700, 545)  # 55 px: text-sized next to 30 px print
    tall = Box(400, 420, 700, 545)  # 125 px: a signature reaching the label's line
    sign, note = HandwritingKind.SIGNATURE, HandwritingKind.ANNOTATION
    assert decide_kind(sign, left, FieldType.DATE, written) is note
    assert decide_kind(sign, left, FieldType.DATE, tall) is sign
    # a tall box the detector doubts is a signature goes by its label
    assert decide_kind(sign, left, FieldType.DATE, tall, score=0.83) is note
    assert decide_kind(sign, left, FieldType.DATE, tall, score=SURE_SIGNATURE_SCORE) is sign
    assert decide_kind(note, left, FieldType.DATE, tall) is note
    assert decide_kind(note, Label("By:", left.box, "left", 30), FieldType.SIGNATURE, written) is sign
    assert decide_kind(note, below, FieldType.SIGNATURE, written) is note  # may caption the next box
    assert decide_kind(sign, None, None, written) is sign
    assert decide_kind(sign, left, FieldType.TEXT, written) is sign


def _page(kind: HandwritingKind, words: list[Word], *, source: KindSource = KindSource.DETECTOR) -> Page:
    span = Span(id="p1-h0", kind=kind, box=HAND, detection_score=0.9, kind_source=source)
    return Page(number=1, dpi=200, width=1700, height=2200, spans=[span], words=words)


def test_find_labels_turns_a_dated_signature_into_a_date_annotation_and_records_both() -> None:
    page = FindLabels()(_page(HandwritingKind.SIGNATURE, _line(["Date:"], x=280, y=500)))
    span = page.spans[0]
    assert span.kind is HandwritingKind.ANNOTATION
    assert span.detected_kind is HandwritingKind.SIGNATURE
    assert span.kind_source is KindSource.LABEL
    assert span.field_type is FieldType.DATE
    # Running it again (reindex from artifacts) keeps the detector's class as the prior.
    again = FindLabels()(page).spans[0]
    assert (again.kind, again.detected_kind) == (HandwritingKind.ANNOTATION, HandwritingKind.SIGNATURE)


def test_a_persons_kind_is_never_overridden_by_the_label() -> None:
    page = _page(HandwritingKind.SIGNATURE, _line(["Date:"], x=280, y=500), source=KindSource.PERSON)
    span = FindLabels()(page).spans[0]
    assert span.kind is HandwritingKind.SIGNATURE
    assert span.field_type is FieldType.DATE


def _read(
    text: str, *, field_type: FieldType | None = None, kind: HandwritingKind = HandwritingKind.ANNOTATION
) -> Span:
    span = Span(
        id="s", kind=kind, box=HAND, detection_score=0.8, text=text, confidence=0.7, field_type=field_type
    )
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=[span])
    return ExtractEntities(EntitySettings())(page).spans[0]


def test_fields_are_typed_and_normalised() -> None:
    date = field_of(_read("7/15/11", field_type=FieldType.DATE))
    assert (date.type, date.value_date, date.value) == (FieldType.DATE, "2011-07-15", "2011-07-15")
    amount = field_of(_read("$40,900.00"))
    assert (amount.type, amount.value_number, amount.value) == (FieldType.AMOUNT, 40900.0, "40900.00")
    title = field_of(_read("Managing  Member", field_type=FieldType.TITLE))
    assert (title.type, title.value, title.value_text) == (
        FieldType.TITLE,
        "Managing Member",
        "Managing Member",
    )
    signature = field_of(_read("", kind=HandwritingKind.SIGNATURE))
    assert (signature.type, signature.value, signature.confidence) == (FieldType.SIGNATURE, "signed", 0.8)
    unlabelled = field_of(_read("see page 2"))
    assert (unlabelled.type, unlabelled.value) == (FieldType.TEXT, "see page 2")


def test_a_date_label_over_a_reading_with_no_date_keeps_the_type_and_no_value() -> None:
    item = field_of(_read("illegible", field_type=FieldType.DATE))
    assert (item.type, item.value, item.value_date, item.value_text) == (
        FieldType.DATE,
        None,
        None,
        "illegible",
    )


def test_extract_fields_gives_one_field_per_span() -> None:
    page = Page(
        number=1,
        dpi=200,
        width=1700,
        height=2200,
        spans=[_read("2/23/12"), _read("John Smith"), _read("John Smith", field_type=FieldType.NAME)],
    )
    # A date is a date wherever it is written; a name needs its label to be typed one.
    assert [item.type for item in ExtractFields()(page).fields] == [
        FieldType.DATE,
        FieldType.TEXT,
        FieldType.NAME,
    ]


def test_the_label_type_reaches_the_reader_as_its_hint() -> None:
    recognizer = HintRecordingRecognizer("7/15/11")
    spans = [
        Span(
            id="a", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9, field_type=FieldType.DATE
        ),
        Span(
            id="b", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9, field_type=FieldType.NAME
        ),
        Span(id="c", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9),
    ]
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=spans)
    page.image = np.full((2200, 1700, 3), 255, np.uint8)
    OcrHandwriting(recognizer)(page)
    assert recognizer.hints == [GrammarType.DATE, None, None]


class _ShapeRecorder:
    """Reads nothing; keeps the shape of every crop it is given."""

    name = "shape-recorder"
    version = "test"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        self.shapes += [crop.shape for crop in crops]
        return [Recognition("", 0.0, self.name) for _ in crops]


@pytest.mark.parametrize("padding", [0, 3, 10])
def test_the_reader_gets_each_box_with_the_configured_padding(padding: int) -> None:
    recorder = _ShapeRecorder()
    span = Span(id="a", kind=HandwritingKind.ANNOTATION, box=Box(100, 200, 400, 260), detection_score=0.9)
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=[span])
    page.image = np.full((2200, 1700, 3), 255, np.uint8)
    OcrHandwriting(recorder, padding_px=padding)(page)
    assert recorder.shapes == [(60 + 2 * padding, 300 + 2 * padding, 3)]


class _ReaderOf:
    """Reads each crop as the next of the given texts (annotations come first, then signatures)."""

    name = "reader-of"
    version = "test"

    def __init__(self, *texts: str) -> None:
        self._texts = list(texts)

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        read, self._texts = self._texts[: len(crops)], self._texts[len(crops) :]
        return [Recognition(text, 0.8, self.name) for text in read]


def test_a_signature_box_read_as_a_whole_date_becomes_a_date_annotation() -> None:
    spans = [
        Span(id="note", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9),
        Span(id="dated", kind=HandwritingKind.SIGNATURE, box=HAND, detection_score=0.9),
        Span(id="signed", kind=HandwritingKind.SIGNATURE, box=HAND, detection_score=0.9),
    ]
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=spans)
    page.image = np.full((2200, 1700, 3), 255, np.uint8)

    OcrHandwriting(_ReaderOf("Managing Member", "10/26/12", "$06"), read_signatures=True)(page)

    note, dated, signed = page.spans
    assert (note.kind, note.text) == (HandwritingKind.ANNOTATION, "Managing Member")
    assert (dated.kind, dated.kind_source, dated.text) == (
        HandwritingKind.ANNOTATION,
        KindSource.READING,
        "10/26/12",
    )
    assert (signed.kind, signed.text, signed.engine) == (HandwritingKind.SIGNATURE, "", "none")
    # Labels found again (reindex) keep what the reading decided.
    assert FindLabels()(page).spans[1].kind is HandwritingKind.ANNOTATION


def test_an_unlabelled_annotation_box_with_nothing_legible_becomes_a_signature() -> None:
    """A mark the detector took for writing; a box a label asks a field of stays an annotation."""
    dated = Label("Date:", Box(300, 500, 390, 530), "left", line_height=30)
    spans = [
        Span(id="mark", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9),
        Span(id="blank-date", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9, label=dated),
        Span(id="note", kind=HandwritingKind.ANNOTATION, box=HAND, detection_score=0.9),
    ]
    spans[1].field_type = FieldType.DATE
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=spans)
    page.image = np.full((2200, 1700, 3), 255, np.uint8)

    OcrHandwriting(_ReaderOf("", "", "Managing Member"))(page)

    mark, blank_date, note = page.spans
    assert (mark.kind, mark.kind_source) == (HandwritingKind.SIGNATURE, KindSource.READING)
    assert (blank_date.kind, blank_date.kind_source) == (HandwritingKind.ANNOTATION, KindSource.DETECTOR)
    assert (note.kind, note.text) == (HandwritingKind.ANNOTATION, "Managing Member")
    assert FindLabels()(page).spans[0].kind is HandwritingKind.SIGNATURE  # reindex keeps it


def test_printed_words_at_a_box_edge_are_cut_out_and_handwriting_is_kept() -> None:
    from indexer.processors.trim import trimmed

    box = Box(100, 100, 700, 200)
    label = Word("Government:", Box(104, 150, 300, 180), 0.96)
    caption = Word("(Signature)", Box(350, 170, 500, 198), 0.95)
    handwriting = Word("Smith", Box(320, 105, 650, 190), 0.97)  # as tall as the box: not print
    unsure = Word("Date", Box(640, 120, 698, 150), 0.5)

    cut = trimmed(box, [label, caption, handwriting, unsure])

    assert cut.x0 > label.box.x1 and cut.y1 < caption.box.y0
    assert (cut.x1, cut.y0) == (box.x1, box.y0)
    # A word in the middle of the box is not at an edge; a cut that keeps too little is not made.
    assert trimmed(box, [Word("Lease", Box(380, 130, 450, 160), 0.99)]) == box
    assert trimmed(box, [Word("Government:", Box(104, 150, 560, 180), 0.99)]) == box
    # Print that names no field cannot be told from neat handwriting: it is left in the box.
    assert trimmed(box, [Word("MEMBER", Box(104, 150, 300, 180), 0.99)]) == box


def test_signatures_much_taller_than_the_print_are_not_read() -> None:
    tall = Box(400, 300, 900, 450)  # 150 px next to 30 px print: a signature, not a written date
    spans = [
        Span(id="tall", kind=HandwritingKind.SIGNATURE, box=tall, detection_score=0.9),
        Span(id="small", kind=HandwritingKind.SIGNATURE, box=HAND, detection_score=0.9),
    ]
    page = Page(
        number=1, dpi=200, width=1700, height=2200, spans=spans, words=_line(["Lease"] * 5, x=40, y=900)
    )
    page.image = np.full((2200, 1700, 3), 255, np.uint8)

    OcrHandwriting(_ReaderOf("1/2/13", "4/25/11"), read_signatures=True)(page)

    assert [(span.kind, span.text) for span in page.spans] == [
        (HandwritingKind.SIGNATURE, ""),
        (HandwritingKind.ANNOTATION, "1/2/13"),
    ]


def test_a_tall_signature_box_labelled_as_a_date_is_read_and_a_date_reading_claims_it() -> None:
    """GIVEN two boxes much taller than the print, called signatures, one after a `Date:` label
    (`find_labels` kept the detector's kind: the height rule) THEN the labelled one is read with
    the date hint and becomes a date annotation; the other is not read."""
    dated = Span(
        id="dated", kind=HandwritingKind.SIGNATURE, box=Box(400, 300, 900, 450), detection_score=0.97
    )
    dated.field_type = FieldType.DATE
    signed = Span(
        id="signed", kind=HandwritingKind.SIGNATURE, box=Box(400, 600, 900, 750), detection_score=0.97
    )
    page = Page(
        number=1,
        dpi=200,
        width=1700,
        height=2200,
        spans=[dated, signed],
        words=_line(["Lease"] * 5, x=40, y=900),
    )
    page.image = np.full((2200, 1700, 3), 255, np.uint8)

    OcrHandwriting(_ReaderOf("July 15, 2011", "1/2/13"), read_signatures=True)(page)

    assert (dated.kind, dated.kind_source, dated.text) == (
        HandwritingKind.ANNOTATION,
        KindSource.READING,
        "July 15, 2011",
    )
    assert (signed.kind, signed.text) == (HandwritingKind.SIGNATURE, "")


def test_a_tall_box_takes_its_left_label_from_the_line_its_writing_sits_on() -> None:
    """A signature rising over `FOR THE GOVERNMENT:` on the line above: `Signature:` labels it."""
    tall = Box(400, 420, 800, 545)
    words = _line(["FOR", "THE"], x=250, y=425, line=1) + _line(["Signature:"], x=170, y=500, line=2)

    label, kind = find_label(printed_words(words, []), tall)

    assert label is not None and label.text == "Signature:"
    assert kind is FieldType.SIGNATURE


def test_the_bracketed_caption_under_a_boxs_own_rule_types_it_even_when_it_starts_left_of_it() -> None:
    """GIVEN `V.P.` written large (a sure, tall signature to the detector) on a blank whose
    `(Title)` caption is printed under the rule's left end, outside the box's columns
    WHEN finding labels THEN the caption is the box's (side `rule`) and makes it a title
    annotation; without the rule, or with running text under it, the box stays a signature."""
    box = Box(909, 1461, 1050, 1560)
    rule = Box(650, 1543, 1200, 1546)

    def found(words: list[Word], rule: Box | None) -> Span:
        span = Span(id="p1-h0", kind=HandwritingKind.SIGNATURE, box=box, detection_score=0.99, rule=rule)
        return FindLabels()(
            Page(number=1, dpi=200, width=1700, height=2200, spans=[span], words=words)
        ).spans[0]

    caption = _line(["(Title)"], x=700, y=1557, height=23)
    span = found(caption, rule)
    assert (span.kind, span.field_type) == (HandwritingKind.ANNOTATION, FieldType.TITLE)
    # The rule itself read as text (`eee`, on a rescanned page) is not the caption's line.
    read_rule = _line(["eee"], x=658, y=1542, height=8)
    span = found(read_rule + caption, rule)
    assert (span.kind, span.field_type) == (HandwritingKind.ANNOTATION, FieldType.TITLE)
    assert span.label is not None and (span.label.text, span.label.side) == ("(Title)", "rule")

    assert found(caption, None).kind is HandwritingKind.SIGNATURE
    running = _line(["Title", "to", "the", "premises"], x=700, y=1557, height=23)
    assert found(running, rule).kind is HandwritingKind.SIGNATURE


def test_a_doubted_signature_under_an_untyped_cell_heading_is_the_cells_text() -> None:
    """GIVEN `ONE` in a form cell headed `a. FLOOR(S)`, which the detector calls a signature
    with a score under the sure bar WHEN finding labels THEN it is a `text` annotation labelled
    by the heading; a sure signature there, or a doubted one with no heading, stays a signature."""
    box = Box(861, 274, 992, 352)
    heading = _line(["a.", "FLOOR(S)"], x=850, y=244, height=15)

    def found(words: list[Word], score: float) -> Span:
        span = Span(id="p1-h0", kind=HandwritingKind.SIGNATURE, box=box, detection_score=score)
        return FindLabels()(
            Page(number=1, dpi=200, width=1700, height=2200, spans=[span], words=words)
        ).spans[0]

    span = found(heading, 0.82)
    assert (span.kind, span.field_type) == (HandwritingKind.ANNOTATION, FieldType.TEXT)
    assert span.label is not None and (span.label.text, span.label.side) == ("a. FLOOR(S)", "above")
    assert found(heading, 0.99).kind is HandwritingKind.SIGNATURE
    assert found([], 0.82).kind is HandwritingKind.SIGNATURE
    signed = _line(["SIGNATURE", "OF", "OWNER"], x=850, y=244, height=15)
    assert found(signed, 0.82).kind is HandwritingKind.SIGNATURE


def test_a_capital_caption_read_in_part_under_crossing_strokes_is_cut_out() -> None:
    """GIVEN `3c. DATE` at the top of a date's box, read `DA` (a stroke of the `4` crosses `TE`)
    WHEN trimming THEN the box's top moves below it; lower-case or low-confidence fragments,
    and capitals that start no caption word, stay in the box."""
    from indexer.processors.trim import trimmed

    box = Box(1263, 1994, 1498, 2084)

    cut = trimmed(box, [Word("DA", Box(1352, 2000, 1373, 2011), 0.94)])

    assert cut == Box(1263, 2021, 1498, 2084)
    for word in (
        Word("da", Box(1352, 2000, 1373, 2011), 0.94),
        Word("DA", Box(1352, 2000, 1373, 2011), 0.6),
        Word("WX", Box(1352, 2000, 1373, 2011), 0.94),
    ):
        assert trimmed(box, [word]) == box, word.text


def _babette_box_words(beside: list[Word]) -> list[Word]:
    """The sparse read of a two-line name and title box whose second line goes on beside the
    caption `(Print Name and Official title)` under the first (positions of a contracts-dev page)."""
    first_line = [
        Word("Bebetle", Box(873, 1792, 984, 1820), 0.76),
        Word("Syluestes", Box(997, 1794, 1151, 1828), 0.3),
        Word("Asst", Box(1171, 1789, 1256, 1823), 0.66),
    ]
    caption = [
        Word("(Print", Box(898, 1834, 946, 1852), 0.91),
        Word("Name", Box(953, 1835, 1008, 1851), 0.97),
        Word("and", Box(1015, 1834, 1048, 1851), 0.96),
        Word("Official", Box(1055, 1834, 1119, 1851), 0.92),
        Word("litie)", Box(1126, 1834, 1165, 1852), 0.76),
    ]
    return first_line + caption + beside


def test_writing_beside_a_cut_caption_becomes_a_box_of_its_own() -> None:
    """GIVEN a box whose bottom is cut above the caption under its first line, and writing the
    sparse read doubts right of that caption on its row WHEN trimming THEN the box keeps the first
    line and a second annotation span holds the writing beside the caption; a signature's box is
    only cut (its flourish often crosses the caption)."""
    from indexer.processors.trim import TrimBoxes

    box = Box(873, 1770, 1614, 1848)
    beside = [
        Word("Rus.", Box(1184, 1830, 1233, 1852), 0.5),
        Word("aesS", Box(1242, 1836, 1305, 1850), 0.0),
        Word("Suppert", Box(1346, 1830, 1470, 1852), 0.1),
        Word("Serge", Box(1475, 1830, 1556, 1856), 0.0),
    ]
    page = Page(number=1, dpi=200, width=1700, height=2200)
    page.spans = [Span(id="p1-h0", kind=HandwritingKind.ANNOTATION, box=box, detection_score=0.8)]
    words = _babette_box_words(beside)

    TrimBoxes(None).process(page, lambda region: words)

    first, second = page.spans
    assert first.box == Box(873, 1770, 1614, 1825)
    assert second.box == Box(1180, 1826, 1614, 1860)
    assert (second.id, second.kind, second.detection_score) == (
        "p1-h0.beside",
        HandwritingKind.ANNOTATION,
        0.8,
    )

    signature = Page(number=1, dpi=200, width=1700, height=2200)
    signature.spans = [Span(id="p1-h0", kind=HandwritingKind.SIGNATURE, box=box, detection_score=0.8)]
    TrimBoxes(None).process(signature, lambda region: words)
    assert [span.box for span in signature.spans] == [Box(873, 1770, 1614, 1825)]


def test_a_cut_caption_with_nothing_or_print_beside_it_gives_no_second_box() -> None:
    from indexer.processors.trim import trimmed, writing_beside_caption

    box = Box(873, 1770, 1614, 1848)
    for beside in (
        [],
        [Word("Services", Box(1184, 1834, 1300, 1852), 0.95)],
        [Word("S", Box(1184, 1834, 1200, 1852), 0.1)],
        # the first line's writing reaching down past the caption's top is not on its row
        [Word("Super", Box(1184, 1790, 1400, 1840), 0.1)],
    ):
        words = _babette_box_words(beside)
        cut = trimmed(box, words)
        assert cut == Box(873, 1770, 1614, 1825)
        assert writing_beside_caption(box, cut, words) is None, beside


def test_captions_of_side_by_side_cells_read_as_one_line_are_parted_at_the_border() -> None:
    """GIVEN the OCR reading `3a. NAME OF CONTRACTING OFFICER (Type or Print) | 3c. DATE` as one
    line over two cells WHEN labelling the date written under `3c. DATE` THEN its label is
    `3c. DATE` (the line cut at the `|` the OCR read for the border), not running text."""
    first = ["3a.", "NAME", "OF", "CONTRACTING", "OFFICER", "(Type", "or", "Print)"]
    words = _line([*first, "|", "3c.", "DATE"], x=100, y=1999, height=15)
    date = Box(1000, 2021, 1230, 2084)
    assert words[-1].box.x0 > date.x0 and words[-1].box.x1 < date.x1

    label, kind = find_label(printed_words(words, []), date)

    assert label is not None and (label.text, label.side, kind) == ("3c. DATE", "above", FieldType.DATE)
    without_border = [word for word in words if word.text != "|"]
    assert find_label(printed_words(without_border, []), date) == (None, None)
