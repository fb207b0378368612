"""Finding an anchor token among the OCR words: exact, after undoing OCR confusions, or fuzzy."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from indexer.document import Box, Span

__all__ = ["Piece", "normalise_digits", "token_distance", "words_in"]

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


def normalise_digits(text: str) -> str:
    """Map look-alike characters to the digits they usually are; same length as `text`."""
    return text.translate(_CONFUSIONS)


def _same(read: str, token_char: str, *, is_boundary: bool) -> bool:
    if is_boundary and token_char == "8":
        return read in _EIGHT_LOOKALIKES
    return normalise_digits(read) == token_char


def token_distance(read: str, token: str) -> int:
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
class Piece:
    """One unit of the page text in reading order: an OCR word, or a span placed there."""

    text: str
    block: int
    line: int
    box: Box | None = None
    confidence: float = 1.0
    span: Span | None = None
    glue_left: bool = False  # joins the previous piece without a space (a split-off suffix)


def words_in(pieces: list[Piece], box: Box) -> list[int]:
    """Words mostly inside the box, or covering most of it (a token glued to a neighbour)."""
    found = []
    for index, piece in enumerate(pieces):
        if piece.span is not None or piece.box is None:
            continue
        shared = piece.box.intersection(box)
        if shared >= _OVERLAP_SHARE * piece.box.area or shared >= _GLUED_SHARE * box.area:
            found.append(index)
    return found
