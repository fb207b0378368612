"""confirm_candidates: the detector's second look becomes a span where the page OCR doubts the print."""

from __future__ import annotations

import numpy as np

from indexer.backends.base import Detection
from indexer.config import CandidateSettings, MergeSettings
from indexer.document import Box, HandwritingKind, Page, Placement, Span, Word
from indexer.processors.candidates import ConfirmCandidates
from indexer.processors.detect import DetectHandwriting
from indexer.processors.merge import MergeText
from tests.factories import FixedDetector

#: Where a second reading proposed handwriting: `SVP Operations` written neatly above `[Title]`.
CANDIDATE = Box(1200, 725, 1470, 772)


def _candidate(box: Box = CANDIDATE) -> Span:
    return Span(id="p1-c0", kind=HandwritingKind.ANNOTATION, box=box, detection_score=0.9)


def _page(words: list[Word], spans: list[Span] | None = None) -> Page:
    page = Page(number=1, dpi=200, width=1700, height=2200, spans=spans or [], words=words)
    page.candidates = [_candidate()]
    return page


def _words(*read: tuple[str, float]) -> list[Word]:
    """Words read side by side inside the candidate, each with its OCR confidence."""
    return [
        Word(text, Box(1210 + 120 * index, 738, 1310 + 120 * index, 765), confidence)
        for index, (text, confidence) in enumerate(read)
    ]


def test_a_candidate_whose_words_the_ocr_doubts_becomes_an_annotation_span() -> None:
    """GIVEN a candidate over words Tesseract read at 0.44, beside print outside it
    WHEN confirming THEN it is an annotation span, and the words read under it stay."""
    outside = Word("[Title]", Box(1355, 774, 1409, 795), 0.91)
    page = _page([*_words(("SVP", 0.44), ("operations", 0.44)), outside])

    ConfirmCandidates(CandidateSettings())(page)

    assert [(span.id, span.kind, span.box) for span in page.spans] == [
        ("p1-c0", HandwritingKind.ANNOTATION, CANDIDATE)
    ]
    assert [word.text for word in page.words] == ["SVP", "operations", "[Title]"]
    assert page.candidates == []


def test_print_read_surely_or_nothing_read_leaves_the_candidate_out() -> None:
    """GIVEN a candidate over a typed line read at 0.96, and one over nothing but an anchor token
    WHEN confirming THEN no span is added and the page's words stay."""
    typed = _words(("CONTRACTING", 0.97), ("OFFICER", 0.96))
    token = _words(("85038", 0.2))
    for words in (typed, token, []):
        page = _page(list(words))

        ConfirmCandidates(CandidateSettings())(page)

        assert page.spans == []
        assert page.words == words


def test_the_confidence_bar_is_the_setting() -> None:
    """GIVEN words read at a mean of 0.8 WHEN the bar is 0.85 THEN confirmed; at 0.75 THEN not."""
    read = (("November", 0.77), ("2012", 0.83))
    confirmed = _page(_words(*read))
    ConfirmCandidates(CandidateSettings(max_print_confidence=0.85))(confirmed)
    dropped = _page(_words(*read))
    ConfirmCandidates(CandidateSettings(max_print_confidence=0.75))(dropped)

    assert len(confirmed.spans) == 1 and dropped.spans == []


class _SecondLook(FixedDetector):
    """A detector whose second look gives fixed boxes, as `TfBoxDetector` reads a page again."""

    def __init__(self, detections: list[Detection], larger: list[Detection]) -> None:
        super().__init__(detections)
        self._larger = larger
        self.scales: list[float] = []

    def second_look(self, image: np.ndarray, *, scale: float) -> list[Detection]:
        self.scales.append(scale)
        return list(self._larger)


def _blank_page() -> Page:
    return Page(number=1, dpi=200, width=1700, height=2200, image=np.full((2200, 1700, 3), 255, np.uint8))


def test_detection_keeps_the_second_looks_free_annotations_as_candidates_only_when_asked() -> None:
    """GIVEN a detector with a second look WHEN detecting with a candidate scale THEN the
    annotation boxes of that look that meet no found box on their line are the page's candidates
    (in reading order), not spans, also one whose top edge reaches into a found box above it; its
    signatures and a box on a found box's line are not; without a scale, or with a detector that
    has no second look, the page has none."""
    found = [Detection(HandwritingKind.SIGNATURE, Box(100, 100, 400, 200), 0.95)]
    larger = [
        Detection(HandwritingKind.ANNOTATION, Box(900, 800, 1100, 840), 0.7),
        Detection(HandwritingKind.ANNOTATION, CANDIDATE, 0.9),
        Detection(HandwritingKind.SIGNATURE, Box(300, 1500, 700, 1600), 0.9),
        Detection(HandwritingKind.ANNOTATION, Box(350, 150, 600, 210), 0.9),  # 50 of 60 rows shared
        Detection(HandwritingKind.ANNOTATION, Box(150, 190, 600, 260), 0.9),  # 10 of 70: the next line
    ]

    detector = _SecondLook(found, larger)
    page = DetectHandwriting(detector, candidate_scale=1.3)(_blank_page())
    plain = DetectHandwriting(_SecondLook(found, larger))(_blank_page())
    no_second_look = DetectHandwriting(FixedDetector(found), candidate_scale=1.3)(_blank_page())

    assert detector.scales == [1.3]
    assert [(span.kind, span.box) for span in page.spans] == [(HandwritingKind.SIGNATURE, found[0].box)]
    assert [(span.id, span.kind, span.box) for span in page.candidates] == [
        ("p1-c0", HandwritingKind.ANNOTATION, Box(150, 190, 600, 260)),
        ("p1-c1", HandwritingKind.ANNOTATION, CANDIDATE),
        ("p1-c2", HandwritingKind.ANNOTATION, Box(900, 800, 1100, 840)),
    ]
    assert plain.candidates == [] and no_second_look.candidates == []
    assert "candidates" not in page.to_dict()


def test_an_unsure_signature_the_second_look_reads_as_an_annotation_becomes_one() -> None:
    """GIVEN signature boxes scored 0.85 and 0.95, each under an annotation box of the second
    look, and one at 0.85 that the second look boxes apart WHEN detecting with `relabel_iou`
    0.5 THEN only the unsure one under an annotation is an annotation; without it none is."""
    amounts = Box(649, 942, 1242, 1030)
    sure = Box(200, 1700, 700, 1800)
    apart = Box(200, 1900, 700, 2000)
    found = [
        Detection(HandwritingKind.SIGNATURE, amounts, 0.85),
        Detection(HandwritingKind.SIGNATURE, sure, 0.95),
        Detection(HandwritingKind.SIGNATURE, apart, 0.85),
    ]
    larger = [
        Detection(HandwritingKind.ANNOTATION, Box(709, 950, 1246, 1027), 0.96),
        Detection(HandwritingKind.ANNOTATION, Box(210, 1705, 690, 1795), 0.9),
        Detection(HandwritingKind.ANNOTATION, Box(600, 1900, 900, 2000), 0.9),  # IoU 0.14
    ]

    relabelled = DetectHandwriting(_SecondLook(found, larger), candidate_scale=1.3, relabel_iou=0.5)(
        _blank_page()
    )
    kept = DetectHandwriting(_SecondLook(found, larger), candidate_scale=1.3)(_blank_page())

    assert [(span.box, span.kind) for span in relabelled.spans] == [
        (amounts, HandwritingKind.ANNOTATION),
        (sure, HandwritingKind.SIGNATURE),
        (apart, HandwritingKind.SIGNATURE),
    ]
    assert relabelled.spans[0].detection_score == 0.85
    assert all(span.kind is HandwritingKind.SIGNATURE for span in kept.spans)
    assert relabelled.candidates == []


def test_a_confirmed_candidate_is_placed_by_its_box_and_the_print_under_it_stays() -> None:
    """GIVEN a confirmed candidate read `SVP Operations` over OCR words on a printed line
    WHEN merging THEN its reading is in the content by its box, and every OCR word stays in
    both the content and the printed text (a wrong guess must not lose print)."""
    label = Word("Title:", Box(1100, 740, 1180, 765), 0.96, block=1, line=1)
    words = [
        Word(word.text, word.box, word.confidence, block=1, line=1)
        for word in _words(("SVP", 0.44), ("operations", 0.44))
    ]
    page = _page([label, *words])
    ConfirmCandidates(CandidateSettings())(page)
    page.spans[0].text = "SVP Operations"

    MergeText(MergeSettings())(page)

    assert page.spans[0].placement is Placement.GEOMETRY
    assert "SVP Operations" in page.content
    for text in ("Title:", "SVP", "operations"):
        assert text in page.printed_text.split() and text in page.content.split()
