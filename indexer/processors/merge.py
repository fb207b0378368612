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
import re
from dataclasses import dataclass

import numpy as np

from indexer.config import MergeSettings
from indexer.document import Box, Page, Placement, Span
from indexer.processors.anchor import TOKEN_PATTERN

__all__ = ["MergeText", "normalise_digits"]

log = logging.getLogger(__name__)

# Characters Tesseract commonly reads instead of digits in a bold monospaced token.
_CONFUSIONS = str.maketrans(
    {"B": "8", "&": "8", "S": "8", "s": "8", "$": "8", "%": "8", "O": "0", "o": "0", "D": "0", "Q": "0",
     "I": "1", "l": "1", "|": "1", "i": "1", "!": "1", "Z": "2", "z": "2", "G": "6", "b": "6", "g": "9",
     "q": "9", "T": "7", "A": "4"}
)  # fmt: skip
_OVERLAP_SHARE = 0.3  # share of a word's area inside a box for the word to belong to the box
_GLUED_SHARE = 0.5  # share of a box covered by a longer word that swallowed the token
# A token's first and last characters are always 8; at those places these are misread 8s too.
_EIGHT_LOOKALIKES = frozenset("8B&Ss$%3gG9")
_DEBRIS_MAX_CHARS = 2
_SPAN_LINE = -1  # line key of a span placed on a line of its own
_HALO_PX = 12  # around a blanked box, where spilled strokes leave OCR noise
_NOISE_CONFIDENCE = 0.6  # below this, a word in the halo may be noise (print reads > 0.85)
# A word reaching into a blanked box and read this badly may be what is left of spilled strokes:
# it is dropped when it lies mostly in the box, is flat (a rule or underscores) or is no word.
_CUT_CONFIDENCE = 0.45
_EDGE_PX = 3  # a word touching a blanked box counts as reaching into it
_CUT_INSIDE_SHARE = 0.5  # of the word's area inside the box
_FLAT_SHARE = 0.35  # of the page's median word height: flatter "words" are rules read as text
_NOISE_MAX_ALNUM = 1  # noise reads as a stray letter or symbols; "be", "to" are words
_PROBE_SHARE = 0.25  # height share, from a box's bottom, where its printed line is looked for
# Rejoining a line the OCR split around a blanked box (shares of the line height).
_REJOIN_OVERLAP_SHARE = 0.5
_REJOIN_GAP_WITH_BOX = 3.0  # spacing around a blanked box in the gap
_REJOIN_GAP_BARE = 1.0  # no box in the gap: only a short one (columns stay apart)
_REJOIN_TOLERANCE_PX = 4  # parts may overlap this much horizontally and still be one line


def normalise_digits(text: str) -> str:
    """Map look-alike characters to the digits they usually are; same length as `text`."""
    return text.translate(_CONFUSIONS)


def _same(read: str, token_char: str, *, is_boundary: bool) -> bool:
    if is_boundary and token_char == "8":
        return read in _EIGHT_LOOKALIKES
    return normalise_digits(read) == token_char


def _token_distance(read: str, token: str) -> int:
    """Edit distance from an OCR'd string to a token, forgiving look-alikes of the boundary 8s."""
    previous = list(range(len(token) + 1))
    for i, char_read in enumerate(read, start=1):
        current = [i]
        for j, char_token in enumerate(token, start=1):
            boundary = j in (1, len(token))
            cost = 0 if _same(char_read, char_token, is_boundary=boundary) else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


@dataclass(slots=True)
class _Piece:
    """One unit of the page text in reading order: an OCR word, or a span placed there."""

    text: str
    block: int
    line: int
    box: Box | None = None
    confidence: float = 1.0
    span: Span | None = None
    glue_left: bool = False  # joins the previous piece without a space (a split-off suffix)


def _words_in(pieces: list[_Piece], box: Box) -> list[int]:
    """Words mostly inside the box, or covering most of it (a token glued to a neighbour)."""
    found = []
    for index, piece in enumerate(pieces):
        if piece.span is not None or piece.box is None:
            continue
        shared = piece.box.intersection(box)
        if shared >= _OVERLAP_SHARE * piece.box.area or shared >= _GLUED_SHARE * box.area:
            found.append(index)
    return found


class MergeText:
    """Fills `page.content`, `page.printed_text`, and each span's placement and offsets."""

    name = "merge_text"

    def __init__(self, settings: MergeSettings) -> None:
        self._settings = settings

    def describe(self) -> str:
        return f"{self.name}: exact, fuzzy (distance <= {self._settings.fuzzy_max_distance}), geometry"

    def __call__(self, page: Page) -> Page:
        pieces = [_Piece(word.text, word.block, word.line, word.box, word.confidence) for word in page.words]
        pieces = _rejoin_split_lines(pieces, [span.anchor_box or span.box for span in page.spans])
        # Every token read verbatim is claimed first, so a fuzzy search for another box's token
        # (boxes overlap) cannot swallow it.
        unplaced = [span for span in page.spans if not (span.anchor and self._place_exact(pieces, span))]
        lost = [span for span in unplaced if not (span.anchor and self._place_fuzzy(pieces, span))]
        self._drop_artifacts(pieces, page.spans)
        _reposition_stray_spans(pieces)
        for span in lost:
            _place_by_geometry(pieces, span)
        _strip_leftover_tokens(pieces, {span.anchor for span in page.spans if span.anchor}, page.number)
        page.printed_text = _assemble(pieces, include_spans=False, markers=None)
        page.content = _assemble(pieces, include_spans=True, markers=self._settings)
        return page

    # -- token placement --------------------------------------------------------------------

    def _place_exact(self, pieces: list[_Piece], span: Span) -> bool:
        token = str(span.anchor)
        for index in _words_in(pieces, span.anchor_box or span.box):
            position = pieces[index].text.find(token)
            if position >= 0:
                _splice(pieces, [index], position, position + len(token), span, Placement.EXACT)
                return True
        return False

    def _place_fuzzy(self, pieces: list[_Piece], span: Span) -> bool:
        token = str(span.anchor)
        for run in _runs(_words_in(pieces, span.anchor_box or span.box)):
            joined = "".join(pieces[index].text for index in run)
            position = normalise_digits(joined).find(token)
            if position < 0:
                position = self._fuzzy_window(joined, token)
            if position >= 0:
                end = min(position + len(token), len(joined))
                _splice(pieces, run, position, end, span, Placement.FUZZY)
                _strip_token_tail(pieces, span, token[len(joined) - position :] if end == len(joined) else "")
                return True
        return False

    def _fuzzy_window(self, joined: str, token: str) -> int:
        """Start of the window closest to the token within the allowed distance, else -1."""
        best, best_distance = -1, self._settings.fuzzy_max_distance + 1
        for size in (len(token), len(token) - 1, len(token) + 1):
            for start in range(0, max(len(joined) - size + 1, 0)):
                distance = _token_distance(joined[start : start + size], token)
                if distance < best_distance:
                    best, best_distance = start, distance
        return best

    def _drop_artifacts(self, pieces: list[_Piece], spans: list[Span]) -> None:
        """Remove what the OCR made of noise: unclaimed words inside blanked boxes, badly read
        words reaching into them, stray marks just around them (strokes spilled over), and
        rules read as words."""
        boxes = [span.anchor_box or span.box for span in spans]
        halos = [box.grown(_HALO_PX) for box in boxes]
        edges = [box.grown(_EDGE_PX) for box in boxes]
        flat_px = _flat_height(pieces)

        def is_cut(piece: _Piece, word: Box) -> bool:
            # Flat words read badly are dropped anywhere (below), so only the rest is judged here.
            inside = max((word.intersection(edge) for edge in edges), default=0)
            if piece.confidence >= _CUT_CONFIDENCE or inside == 0:
                return False
            return inside >= _CUT_INSIDE_SHARE * word.area or not _is_wordlike(piece.text)

        pieces[:] = [
            piece
            for piece in pieces
            if piece.span is not None
            or piece.box is None
            or not (
                any(box.holds_centre_of(piece.box) for box in boxes)
                or (_looks_like_noise(piece) and any(piece.box.intersection(halo) for halo in halos))
                or is_cut(piece, piece.box)
                # A flat "word" read badly anywhere is a rule or underscores, not text.
                or (piece.box.height < flat_px and piece.confidence < _CUT_CONFIDENCE)
            )
        ]


def _flat_height(pieces: list[_Piece]) -> float:
    """Words lower than this are specks or rules read as text (a share of the median height)."""
    heights = sorted(piece.box.height for piece in pieces if piece.box is not None and piece.span is None)
    return _FLAT_SHARE * heights[len(heights) // 2] if heights else 0.0


def _is_wordlike(text: str) -> bool:
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


def _rejoin_split_lines(pieces: list[_Piece], boxes: list[Box]) -> list[_Piece]:
    """Join the parts of one printed line that the OCR put in different blocks.

    A blanked box in the middle of a line often makes Tesseract's layout analysis cut the line
    in two blocks and read the second part after the following lines (or before the first). Two
    OCR lines are one when they overlap vertically by most of their height, do not overlap
    horizontally, and the gap between them is a blanked box plus ordinary spacing (or is short).
    The joined line takes the place of its earliest part in reading order.
    """
    order: list[tuple[int, int]] = []
    members: dict[tuple[int, int], list[_Piece]] = {}
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
    joined: list[_Piece] = []
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
    """Is `other` the rest of `line`, to its left or right (see `_rejoin_split_lines`)?"""
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


def _looks_like_noise(piece: _Piece) -> bool:
    """Low confidence and hardly a word: a real word next to a box keeps its place."""
    return piece.confidence < _NOISE_CONFIDENCE and not _is_wordlike(piece.text)


def _runs(indices: list[int]) -> list[list[int]]:
    """Consecutive indices grouped, longest-first: a token split in two is one run."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _splice(
    pieces: list[_Piece], run: list[int], start: int, end: int, span: Span, placement: Placement
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
    prefix, suffix = _without_token_debris(joined[:local_start]), _without_token_debris(joined[local_end:])
    span.placement = placement
    # The kept parts get no box: they belong to a claimed word, not to noise inside the box.
    replacement = [_Piece(prefix, first.block, first.line)] if prefix else []
    replacement.append(_Piece("", first.block, first.line, first.box, span=span))
    if suffix:
        is_punctuation = re.fullmatch(r"[^\w$]+", suffix) is not None
        replacement.append(_Piece(suffix, first.block, first.line, glue_left=is_punctuation))
    pieces[run[first_i] : run[last_i] + 1] = replacement


def _strip_leftover_tokens(pieces: list[_Piece], tokens: set[str], page_number: int) -> None:
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


def _without_token_debris(text: str) -> str:
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


def _strip_token_tail(pieces: list[_Piece], span: Span, missing: str) -> None:
    """A token's last characters often glue to the next word (`8367` + `8parties`): strip them."""
    if not missing:
        return
    index = next(i for i, piece in enumerate(pieces) if piece.span is span) + 1
    if index < len(pieces) and pieces[index].span is None:
        following = pieces[index]
        if normalise_digits(following.text).startswith(missing) and len(following.text) > len(missing):
            following.text = following.text[len(missing) :]


def _reposition_stray_spans(pieces: list[_Piece]) -> None:
    """A token the OCR put on the wrong line joins the printed line it sits on.

    Stray means: alone on its line but for noise (a tall signature, a box between two lines), or
    grouped with a line it does not vertically overlap at all (a skewed scan). A token drawn low
    in a box that sits high still overlaps its line, and stays. The placement stays
    `exact` or `fuzzy`: the token was found, only its line was wrong.
    """
    flat_px = _flat_height(pieces)
    extents: dict[tuple[int, int], tuple[int, int]] = {}
    for piece in pieces:
        if (
            piece.span is None
            and piece.box is not None
            and piece.box.height >= flat_px
            and not _looks_like_noise(piece)
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
            pieces.insert(min(index, len(pieces)), _Piece("", block, line, piece.box, span=piece.span))


def _geometry_slot(
    pieces: list[_Piece], span: Span, *, exclude: _Piece | None = None
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
        is_word = piece.span is None and piece.box is not None and not _looks_like_noise(piece)
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


def _place_by_geometry(pieces: list[_Piece], span: Span) -> None:
    """Insert a span whose token was lost: on the line through it, by x; else on its own line."""
    span.placement = Placement.GEOMETRY
    centre_y = span.box.center[1]
    slot = _geometry_slot(pieces, span)
    if slot is not None:
        index, block, line = slot
        pieces.insert(index, _Piece("", block, line, span.box, span=span))
        return
    above = [
        index
        for index, piece in enumerate(pieces)
        if piece.box is not None and piece.box.center[1] < centre_y
    ]
    position = max(above) + 1 if above else 0
    block = pieces[position - 1].block if position > 0 else 0
    pieces.insert(position, _Piece("", block, _SPAN_LINE - position, span.box, span=span))


def _span_text(span: Span, markers: MergeSettings) -> str:
    if span.is_signature:
        return markers.signature_marker
    return span.text or markers.illegible_marker


def _assemble(pieces: list[_Piece], *, include_spans: bool, markers: MergeSettings | None) -> str:
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
