"""Cleaning the OCR words around blanked boxes: rejoined split lines, noise, token debris."""

from __future__ import annotations

import logging
import re

import numpy as np

from indexer.document import Box, Span
from indexer.processors.anchor import TOKEN_PATTERN
from indexer.processors.merge.matching import Piece, normalise_digits

__all__ = [
    "flat_height",
    "is_wordlike",
    "looks_like_noise",
    "rejoin_split_lines",
    "runs",
    "strip_leftover_tokens",
    "strip_token_tail",
    "without_token_debris",
]

log = logging.getLogger(__name__)

# A token's first and last characters are always 8; at those places these are misread 8s too.
_EIGHT_LOOKALIKES = frozenset("8B&Ss$%3gG9")
_DEBRIS_MAX_CHARS = 2
_NOISE_CONFIDENCE = 0.6  # below this, a word in the halo may be noise (print reads > 0.85)
# A word reaching into a blanked box and read this badly may be what is left of spilled strokes:
# it is dropped when it lies mostly in the box, is flat (a rule or underscores) or is no word.
_FLAT_SHARE = 0.35  # of the page's median word height: flatter "words" are rules read as text
_NOISE_MAX_ALNUM = 1  # noise reads as a stray letter or symbols; "be", "to" are words
# Rejoining a line the OCR split around a blanked box (shares of the line height).
_REJOIN_OVERLAP_SHARE = 0.5
_REJOIN_GAP_WITH_BOX = 3.0  # spacing around a blanked box in the gap
_REJOIN_GAP_BARE = 1.0  # no box in the gap: only a short one (columns stay apart)
_REJOIN_TOLERANCE_PX = 4  # parts may overlap this much horizontally and still be one line


def flat_height(pieces: list[Piece]) -> float:
    """Words lower than this are specks or rules read as text (a share of the median height)."""
    heights = sorted(piece.box.height for piece in pieces if piece.box is not None and piece.span is None)
    return _FLAT_SHARE * heights[len(heights) // 2] if heights else 0.0


def is_wordlike(text: str) -> bool:
    """Mostly letters or digits, and more than one of them: "be", "to", "Bye"; not "~", "_-", "o'"."""
    alphanumeric = sum(char.isalnum() for char in text)
    return alphanumeric > _NOISE_MAX_ALNUM and alphanumeric >= len(text) / 2


def _uncovered_gap(left: int, right: int, row: tuple[int, int], boxes: list[Box]) -> tuple[int, bool]:
    """Pixels of the gap [left, right) on a row not covered by a blanked box, and whether one is there."""
    covered = np.zeros(max(right - left, 0), bool)
    for box in boxes:
        if box.y0 < row[1] and box.y1 > row[0] and box.x0 < right and box.x1 > left:
            covered[max(box.x0 - left, 0) : box.x1 - left] = True
    return int((~covered).sum()), bool(covered.any())


def rejoin_split_lines(pieces: list[Piece], boxes: list[Box]) -> list[Piece]:
    """Join the parts of one printed line that the OCR put in different blocks.

    A blanked box in the middle of a line often makes Tesseract's layout analysis cut the line
    in two blocks and read the second part after the following lines (or before the first). Two
    OCR lines are one when they overlap vertically by most of their height, do not overlap
    horizontally, and the gap between them is a blanked box plus ordinary spacing (or is short).
    The joined line takes the place of its earliest part in reading order.
    """
    order: list[tuple[int, int]] = []
    members: dict[tuple[int, int], list[Piece]] = {}
    for piece in pieces:
        key = (piece.block, piece.line)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(piece)
    extents = {
        key: (
            min(p.box.x0 for p in group if p.box),
            min(p.box.y0 for p in group if p.box),
            max(p.box.x1 for p in group if p.box),
            max(p.box.y1 for p in group if p.box),
        )
        for key, group in members.items()
        if any(p.box for p in group)
    }
    root: dict[tuple[int, int], tuple[int, int]] = {}
    for index, key in enumerate(order):
        if key not in extents:
            continue
        for earlier in order[:index]:
            if earlier in root or earlier not in extents:
                continue
            if _continues(extents[earlier], extents[key], boxes):
                root[key] = earlier
                x0, y0, x1, y1 = extents[earlier]
                a0, b0, a1, b1 = extents[key]
                extents[earlier] = (min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1))
                members[earlier] += members[key]
                break
    if not root:
        return pieces
    joined: list[Piece] = []
    roots = set(root.values())
    for key in order:
        if key in root:
            continue
        group = members[key]
        if key in roots:
            group = sorted(group, key=lambda p: p.box.x0 if p.box else 0)
            for piece in group:
                piece.block, piece.line = key
        joined += group
    return joined


def _continues(line: tuple[int, int, int, int], other: tuple[int, int, int, int], boxes: list[Box]) -> bool:
    """Is `other` the rest of `line`, to its left or right (see `rejoin_split_lines`)?"""
    x0, y0, x1, y1 = line
    a0, b0, a1, b1 = other
    height = min(y1 - y0, b1 - b0)
    shared = min(y1, b1) - max(y0, b0)
    if height <= 0 or shared < _REJOIN_OVERLAP_SHARE * height:
        return False
    if a0 >= x1 - _REJOIN_TOLERANCE_PX:
        gap = (x1, a0)
    elif a1 <= x0 + _REJOIN_TOLERANCE_PX:
        gap = (a1, x0)
    else:
        return False  # they overlap horizontally: two lines of their own
    uncovered, has_box = _uncovered_gap(gap[0], gap[1], (max(y0, b0), min(y1, b1)), boxes)
    limit = _REJOIN_GAP_WITH_BOX if has_box else _REJOIN_GAP_BARE
    return uncovered <= limit * height


def looks_like_noise(piece: Piece) -> bool:
    """Low confidence and hardly a word: a real word next to a box keeps its place."""
    return piece.confidence < _NOISE_CONFIDENCE and not is_wordlike(piece.text)


def runs(indices: list[int]) -> list[list[int]]:
    """Consecutive indices grouped, longest-first: a token split in two is one run."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def strip_leftover_tokens(pieces: list[Piece], tokens: set[str], page_number: int) -> None:
    """Remove any token still in the text: a second reading of one (every span is placed by now).

    This never fails the page: a surviving token would be noise in the index, not lost content.
    """
    for piece in pieces:
        if piece.span is not None:
            continue
        found = tokens & set(TOKEN_PATTERN.findall(piece.text))
        for token in found:
            log.warning("page %d: token %s read twice; the extra reading is dropped", page_number, token)
            piece.text = piece.text.replace(token, "")
    pieces[:] = [piece for piece in pieces if piece.span is not None or piece.text]


def without_token_debris(text: str) -> str:
    """Drop what is left of a misread token beside the match: stray 8-like marks or punctuation.

    A word glued to the token keeps its letters; a lone comma or full stop after it stays too.
    Underscores and dashes of the signature rule the token was drawn on (`___—«8`) go as well.
    """
    if re.fullmatch(r"[.,;:]", text):
        return text
    is_debris = all(char in _EIGHT_LOOKALIKES or not char.isalnum() for char in text)
    if is_debris and sum(char.isalnum() for char in text) <= _DEBRIS_MAX_CHARS:
        return ""
    return text


def strip_token_tail(pieces: list[Piece], span: Span, missing: str) -> None:
    """A token's last characters often glue to the next word (`8367` + `8parties`): strip them."""
    if not missing:
        return
    index = next(i for i, piece in enumerate(pieces) if piece.span is span) + 1
    if index < len(pieces) and pieces[index].span is None:
        following = pieces[index]
        if normalise_digits(following.text).startswith(missing) and len(following.text) > len(missing):
            following.text = following.text[len(missing) :]
