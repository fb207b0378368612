"""Placing spans among the OCR words (by token or by geometry) and assembling the page text."""

from __future__ import annotations

import logging
import re

from indexer.config import MergeSettings
from indexer.document import Placement, Span
from indexer.processors.merge.cleanup import flat_height, looks_like_noise, without_token_debris
from indexer.processors.merge.matching import Piece

__all__ = ["assemble", "place_by_geometry", "reposition_stray_spans", "splice"]

log = logging.getLogger(__name__)

_SPAN_LINE = -1  # line key of a span placed on a line of its own
_PROBE_SHARE = 0.25  # height share, from a box's bottom, where its printed line is looked for


def splice(
    pieces: list[Piece], run: list[int], start: int, end: int, span: Span, placement: Placement
) -> None:
    """Replace characters [start, end) of the run's joined text with the span, keeping the rest.

    Words of the run wholly outside [start, end) stay as they are (with their boxes, so another
    box's token among them can still be found); the words the match touches are cut around it.
    """
    offsets, position = [], 0
    for index in run:
        offsets.append(position)
        position += len(pieces[index].text)
    touched = [
        i for i, index in enumerate(run) if offsets[i] < end and offsets[i] + len(pieces[index].text) > start
    ] or [0]
    first_i, last_i = touched[0], touched[-1]
    first = pieces[run[first_i]]
    joined = "".join(pieces[index].text for index in run[first_i : last_i + 1])
    local_start, local_end = start - offsets[first_i], end - offsets[first_i]
    prefix, suffix = without_token_debris(joined[:local_start]), without_token_debris(joined[local_end:])
    span.placement = placement
    # The kept parts get no box: they belong to a claimed word, not to noise inside the box.
    replacement = [Piece(prefix, first.block, first.line)] if prefix else []
    replacement.append(Piece("", first.block, first.line, first.box, span=span))
    if suffix:
        is_punctuation = re.fullmatch(r"[^\w$]+", suffix) is not None
        replacement.append(Piece(suffix, first.block, first.line, glue_left=is_punctuation))
    pieces[run[first_i] : run[last_i] + 1] = replacement


def reposition_stray_spans(pieces: list[Piece]) -> None:
    """A token the OCR put on the wrong line joins the printed line it sits on.

    Stray means: alone on its line but for noise (a tall signature, a box between two lines), or
    grouped with a line it does not vertically overlap at all (a skewed scan). A token drawn low
    in a box that sits high still overlaps its line, and stays. The placement stays
    `exact` or `fuzzy`: the token was found, only its line was wrong.
    """
    flat_px = flat_height(pieces)
    extents: dict[tuple[int, int], tuple[int, int]] = {}
    for piece in pieces:
        if (
            piece.span is None
            and piece.box is not None
            and piece.box.height >= flat_px
            and not looks_like_noise(piece)
        ):
            key = (piece.block, piece.line)
            low, high = extents.get(key, (piece.box.y0, piece.box.y1))
            extents[key] = (min(low, piece.box.y0), max(high, piece.box.y1))
    for piece in [piece for piece in pieces if piece.span is not None and piece.box is not None]:
        extent = extents.get((piece.block, piece.line))
        top, bottom = piece.box.y0, piece.box.y1  # type: ignore[union-attr]  # filtered above
        if extent is not None and top < extent[1] and bottom > extent[0]:
            continue
        target = _geometry_slot(pieces, piece.span, exclude=piece) if piece.span is not None else None
        if target is not None:
            pieces.remove(piece)
            index, block, line = target
            pieces.insert(min(index, len(pieces)), Piece("", block, line, piece.box, span=piece.span))


def _geometry_slot(
    pieces: list[Piece], span: Span, *, exclude: Piece | None = None
) -> tuple[int, int, int] | None:
    """Where a span goes among the printed words: (index, block, line), or None if no line fits.

    The line is the printed line crossing the box (horizontally near it) whose middle is
    closest to the box's lower part, where handwriting meets the line it was written on; the
    span goes before the first word of that line to its right.
    """
    box = span.box
    probe_y = box.y1 - _PROBE_SHARE * box.height
    lines: dict[tuple[int, int], list[int]] = {}
    for index, piece in enumerate(pieces):
        is_word = piece.span is None and piece.box is not None and not looks_like_noise(piece)
        if piece is not exclude and is_word:
            lines.setdefault((piece.block, piece.line), []).append(index)
    best: tuple[float, tuple[int, int]] | None = None
    for key, members in lines.items():
        boxes = [pieces[index].box for index in members if pieces[index].box is not None]
        y0, y1 = min(b.y0 for b in boxes), max(b.y1 for b in boxes)  # type: ignore[union-attr]
        x0, x1 = min(b.x0 for b in boxes), max(b.x1 for b in boxes)  # type: ignore[union-attr]
        crosses = y0 < box.y1 and y1 > box.y0 and x0 <= box.x1 + box.width and x1 >= box.x0 - box.width
        if crosses and (best is None or abs((y0 + y1) / 2 - probe_y) < best[0]):
            best = (abs((y0 + y1) / 2 - probe_y), key)
    if best is None:
        return None
    block, line = best[1]
    on_line = [
        index
        for index, piece in enumerate(pieces)
        if (piece.block, piece.line) == (block, line) and piece is not exclude
    ]
    after = [
        index
        for index in on_line
        if (word := pieces[index].box) is not None and word.center[0] > box.center[0]
    ]
    index = after[0] if after else on_line[-1] + 1
    if exclude is not None and pieces.index(exclude) < index:
        index -= 1
    return index, block, line


def place_by_geometry(pieces: list[Piece], span: Span) -> None:
    """Insert a span whose token was lost: on the line through it, by x; else on its own line."""
    span.placement = Placement.GEOMETRY
    centre_y = span.box.center[1]
    slot = _geometry_slot(pieces, span)
    if slot is not None:
        index, block, line = slot
        pieces.insert(index, Piece("", block, line, span.box, span=span))
        return
    above = [
        index
        for index, piece in enumerate(pieces)
        if piece.box is not None and piece.box.center[1] < centre_y
    ]
    position = max(above) + 1 if above else 0
    block = pieces[position - 1].block if position > 0 else 0
    pieces.insert(position, Piece("", block, _SPAN_LINE - position, span.box, span=span))


def _span_text(span: Span, markers: MergeSettings) -> str:
    if span.is_signature:
        return markers.signature_marker
    return span.text or markers.illegible_marker


def assemble(pieces: list[Piece], *, include_spans: bool, markers: MergeSettings | None) -> str:
    """Join pieces into text: spaces within a line, newlines between lines, blank lines between blocks.

    With `include_spans`, also records each span's `start`/`end` offsets in the result.
    """
    parts: list[str] = []
    length = 0
    previous: tuple[int, int] | None = None
    for piece in pieces:
        if piece.span is not None and not include_spans:
            continue
        text = _span_text(piece.span, markers) if piece.span is not None and markers else piece.text
        key = (piece.block, piece.line)
        if previous is not None:
            separator = "" if piece.glue_left and key == previous else " " if key == previous else "\n"
            if previous is not None and key[0] != previous[0]:
                separator = "\n\n"
            parts.append(separator)
            length += len(separator)
        if piece.span is not None:
            piece.span.start, piece.span.end = length, length + len(text)
        parts.append(text)
        length += len(text)
        previous = key
    return "".join(parts)
