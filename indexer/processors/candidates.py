"""ConfirmCandidates: a box the detector proposed on a second look becomes a span when the page OCR
doubts that what lies under it is print.

The detector misses neat, print-like handwriting at the page's usual size; read larger, it sees
that writing, but it also calls some print handwriting there. Its proposals
(`page.candidates`, from `DetectHandwriting`) were left unmasked, so the page OCR has read them
as words: Tesseract reads print, typed fill-ins and stamps with confidence 0.9 or more and
handwriting, however neat, less surely. A candidate whose words Tesseract doubts becomes an
annotation span, which the later steps label, read and index; its reading goes into the text by
its box (it has no anchor token). The words read under it stay in the page text too: a
candidate is a guess, and when it is wrong (small or faint print, a typed line a signature
crosses) no printed word is lost to it.
"""

from __future__ import annotations

import logging
import statistics

from indexer.config import CandidateSettings
from indexer.document import Page
from indexer.processors.anchor import TOKEN_PATTERN

__all__ = ["INSIDE_SHARE", "ConfirmCandidates"]

log = logging.getLogger(__name__)

#: A word belongs to a candidate when this share of it lies inside the candidate's box.
INSIDE_SHARE = 0.5


class ConfirmCandidates:
    """Turns the page's candidates into annotation spans where the page OCR read their words
    with a mean confidence under `max_print_confidence`; the other candidates are dropped."""

    name = "confirm_candidates"

    def __init__(self, settings: CandidateSettings) -> None:
        self._settings = settings

    def describe(self) -> str:
        return (
            f"{self.name}: the detector's second look (scale {self._settings.scale}) where the page "
            f"OCR reads under {self._settings.max_print_confidence}"
        )

    def __call__(self, page: Page) -> Page:
        candidates, page.candidates = page.candidates, []
        for candidate in candidates:
            # A candidate may reach into a detected box above or below it (or the blank around
            # one); the anchor tokens read there are not the candidate's words.
            inside = [
                word
                for word in page.words
                if not TOKEN_PATTERN.search(word.text)
                and word.box.intersection(candidate.box) >= INSIDE_SHARE * word.box.area
            ]
            if not inside:
                continue  # nothing the OCR saw: a speck or a rule, not writing to read
            confidence = statistics.fmean(word.confidence for word in inside)
            if confidence >= self._settings.max_print_confidence:
                continue
            log.debug(
                "page %d: candidate %s confirmed over %r (OCR confidence %.2f)",
                page.number,
                candidate.box,
                " ".join(word.text for word in inside),
                confidence,
            )
            page.spans.append(candidate)
        return page
