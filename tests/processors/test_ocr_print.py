"""A token that equals a number printed on the page is redrawn and the page read again."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.backends.base import PrintedOcrResult
from indexer.backends.tesseract import TesseractOcr
from indexer.config import AnchorSettings, MergeSettings, TesseractSettings
from indexer.document import Box, HandwritingKind, Page, Placement, Span, Word
from indexer.processors.anchor import AnchorPainter, MaskWithAnchors
from indexer.processors.merge import MergeText
from indexer.processors.ocr_print import OcrPrinted, colliding_spans

PRINTED_NUMBER = "84448"
SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def _page() -> Page:
    canvas = Image.new("RGB", (1200, 500), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype(SERIF, 30)
    draw.text((60, 60), f"Lease number {PRINTED_NUMBER} is amended.", font=font, fill=(10, 10, 10))
    draw.text((60, 300), "Signed on", font=font, fill=(10, 10, 10))
    box = Box(260, 285, 520, 345)
    span = Span(id="h0", kind=HandwritingKind.ANNOTATION, box=box, detection_score=0.9, text="2/23/12")
    return Page(number=1, dpi=200, width=1200, height=500, spans=[span], image=np.asarray(canvas))


def test_colliding_token_is_replaced_and_span_lands_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    painter = AnchorPainter(AnchorSettings(seed=5))
    original = painter.new_tokens
    calls: list[int] = []

    def first_collides(count: int, **kwargs: Any) -> list[str]:
        calls.append(count)
        return [PRINTED_NUMBER] if len(calls) == 1 else original(count, **kwargs)

    monkeypatch.setattr(painter, "new_tokens", first_collides)
    page = MaskWithAnchors(painter)(_page())
    assert page.spans[0].anchor == PRINTED_NUMBER

    with TesseractOcr(TesseractSettings()) as ocr:
        page = OcrPrinted(ocr, painter, max_retries=3)(page)
    page = MergeText(MergeSettings())(page)

    assert len(calls) == 2
    assert page.spans[0].anchor != PRINTED_NUMBER
    assert page.spans[0].placement is Placement.EXACT
    assert f"Lease number {PRINTED_NUMBER} is amended." in page.content
    assert "Signed on 2/23/12" in page.content


def test_a_token_read_just_outside_its_box_is_its_own_and_one_read_far_away_collides() -> None:
    """The token's box may be read a few pixels off (up to 10 px); farther away the same number
    is printed text, and the span must be redrawn with another token."""
    span = Span("s", HandwritingKind.ANNOTATION, Box(100, 100, 200, 140), 0.9, anchor="81238")
    near = Word("81238", Box(195, 98, 225, 118), 0.9)  # centre (210, 108): 10 px right of the box
    far = Word("81238", Box(600, 400, 650, 420), 0.9)
    assert colliding_spans(PrintedOcrResult([near], "81238"), [span]) == []
    assert colliding_spans(PrintedOcrResult([near, far], "81238 81238"), [span]) == [span]
