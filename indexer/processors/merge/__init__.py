"""MergeText: put each handwriting span back into the page text where its anchor token was read.

The page OCR ran on the masked page, where each box holds only its token, so the OCR words that
overlap a box are that token, possibly misread (8 as B, 3, S or &), split in two, or glued to a
neighbouring word. Each span is placed by, in order:
  exact    - a word contains the token verbatim;
  fuzzy    - the token is found after undoing common OCR confusions, across a split, or within
             the allowed edit distance;
  geometry - the token was lost: the span goes among the OCR words by its box, in reading order.
Whatever else the OCR read inside a blanked box is an artifact and is dropped.
"""

from __future__ import annotations

import logging

from indexer.config import MergeSettings
from indexer.document import Box, Page, Placement, Span
from indexer.processors.merge.assembly import assemble, place_by_geometry, reposition_stray_spans, splice
from indexer.processors.merge.cleanup import (
    flat_height,
    is_wordlike,
    looks_like_noise,
    rejoin_split_lines,
    runs,
    strip_leftover_tokens,
    strip_token_tail,
)
from indexer.processors.merge.matching import Piece, normalise_digits, token_distance, words_in

__all__ = ["MergeText", "normalise_digits"]

log = logging.getLogger(__name__)

_HALO_PX = 12  # around a blanked box, where spilled strokes leave OCR noise
# A word reaching into a blanked box and read this badly may be what is left of spilled strokes:
# it is dropped when it lies mostly in the box, is flat (a rule or underscores) or is no word.
_CUT_CONFIDENCE = 0.45
_EDGE_PX = 3  # a word touching a blanked box counts as reaching into it
_CUT_INSIDE_SHARE = 0.5  # of the word's area inside the box


class MergeText:
    """Fills `page.content`, `page.printed_text`, and each span's placement and offsets."""

    name = "merge_text"

    def __init__(self, settings: MergeSettings) -> None:
        self._settings = settings

    def describe(self) -> str:
        return f"{self.name}: exact, fuzzy (distance <= {self._settings.fuzzy_max_distance}), geometry"

    def __call__(self, page: Page) -> Page:
        pieces = [Piece(word.text, word.block, word.line, word.box, word.confidence) for word in page.words]
        pieces = rejoin_split_lines(pieces, _blanked(page.spans))
        # Every token read verbatim is claimed first, so a fuzzy search for another box's token
        # (boxes overlap) cannot swallow it.
        unplaced = [span for span in page.spans if not (span.anchor and self._place_exact(pieces, span))]
        lost = [span for span in unplaced if not (span.anchor and self._place_fuzzy(pieces, span))]
        self._drop_artifacts(pieces, page.spans)
        reposition_stray_spans(pieces)
        for span in lost:
            place_by_geometry(pieces, span)
        strip_leftover_tokens(pieces, {span.anchor for span in page.spans if span.anchor}, page.number)
        page.printed_text = assemble(pieces, include_spans=False, markers=None)
        page.content = assemble(pieces, include_spans=True, markers=self._settings)
        return page

    # -- token placement --------------------------------------------------------------------

    def _place_exact(self, pieces: list[Piece], span: Span) -> bool:
        token = str(span.anchor)
        for index in words_in(pieces, span.anchor_box or span.box):
            position = pieces[index].text.find(token)
            if position >= 0:
                splice(pieces, [index], position, position + len(token), span, Placement.EXACT)
                return True
        return False

    def _place_fuzzy(self, pieces: list[Piece], span: Span) -> bool:
        token = str(span.anchor)
        for run in runs(words_in(pieces, span.anchor_box or span.box)):
            joined = "".join(pieces[index].text for index in run)
            position = normalise_digits(joined).find(token)
            if position < 0:
                position = self._fuzzy_window(joined, token)
            if position >= 0:
                end = min(position + len(token), len(joined))
                splice(pieces, run, position, end, span, Placement.FUZZY)
                strip_token_tail(pieces, span, token[len(joined) - position :] if end == len(joined) else "")
                return True
        return False

    def _fuzzy_window(self, joined: str, token: str) -> int:
        """Start of the window closest to the token within the allowed distance, else -1."""
        best, best_distance = -1, self._settings.fuzzy_max_distance + 1
        for size in (len(token), len(token) - 1, len(token) + 1):
            for start in range(0, max(len(joined) - size + 1, 0)):
                distance = token_distance(joined[start : start + size], token)
                if distance < best_distance:
                    best, best_distance = start, distance
        return best

    def _drop_artifacts(self, pieces: list[Piece], spans: list[Span]) -> None:
        """Remove what the OCR made of noise: unclaimed words inside blanked boxes, badly read
        words reaching into them, stray marks just around them (strokes spilled over), and
        rules read as words."""
        boxes = _blanked(spans)
        halos = [box.grown(_HALO_PX) for box in boxes]
        edges = [box.grown(_EDGE_PX) for box in boxes]
        flat_px = flat_height(pieces)

        def is_cut(piece: Piece, word: Box) -> bool:
            # Flat words read badly are dropped anywhere (below), so only the rest is judged here.
            inside = max((word.intersection(edge) for edge in edges), default=0)
            if piece.confidence >= _CUT_CONFIDENCE or inside == 0:
                return False
            return inside >= _CUT_INSIDE_SHARE * word.area or not is_wordlike(piece.text)

        pieces[:] = [
            piece
            for piece in pieces
            if piece.span is not None
            or piece.box is None
            or not (
                any(box.holds_centre_of(piece.box) for box in boxes)
                or (looks_like_noise(piece) and any(piece.box.intersection(halo) for halo in halos))
                or is_cut(piece, piece.box)
                # A flat "word" read badly anywhere is a rule or underscores, not text.
                or (piece.box.height < flat_px and piece.confidence < _CUT_CONFIDENCE)
            )
        ]


def _blanked(spans: list[Span]) -> list[Box]:
    """The areas the anchor step blanked. A span confirmed from a candidate after the page OCR
    (`confirm_candidates`) blanked nothing: the words read under it stay in the text."""
    return [span.anchor_box or span.box for span in spans if span.anchor or span.anchor_box is not None]
