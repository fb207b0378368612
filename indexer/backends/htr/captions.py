"""Drop printed form captions that a handwriting box took in, from a line's CTC output.

Contract forms print small captions such as `(Address)` or `(Print Name and Official title)`
under or beside the line a person writes on, and a loose box around the writing takes them in,
often on the same line as the writing, where cutting the crop into lines cannot separate them.
A recognizer trained on print reads them well, parentheses included. A parenthesised span of
letters in the best path is taken to be such a caption: its time steps are set to the blank, so
every decoder (free, typed, lexicon) reads the line as if the caption were not there.

A box that starts inside a caption cuts it: the line then opens with the caption's tail
(`ress)` of `(Address)`). Letters from the line's start up to a `)` that no `(` opens are
such a tail when the first of them is lower case, as a word cut in its middle is; a written
`Jare)` is not taken for one.

Spans holding a digit are kept: a phone number's area code is written in parentheses.
"""

from __future__ import annotations

import logging

import numpy as np

from indexer.backends.htr.ctc_decode import best_path

__all__ = ["MIN_CAPTION_LETTERS", "blank_captions"]

log = logging.getLogger(__name__)

#: A parenthesised span needs this many letters to be a caption (`(s)` and `(a)` are not).
MIN_CAPTION_LETTERS = 3


def blank_captions(probabilities: np.ndarray, vocabulary: str, *, blank_index: int = 0) -> np.ndarray:
    """The (time, classes) probabilities with each parenthesised caption's steps turned into blanks.

    Args:
        probabilities: (time, classes) softmax output; class `blank_index` is the CTC blank, the
            others are `vocabulary`'s characters in order.
        vocabulary: the characters of the non-blank classes.

    Returns:
        The same array when the line holds no caption, else a copy.
    """
    decoded = best_path(probabilities, blank_index=blank_index)
    characters = [vocabulary[i - 1 if i > blank_index else i] for i in decoded.labels]
    best = probabilities.argmax(axis=1)
    out = probabilities
    start = 0
    while True:
        span = _next_caption(characters, start)
        if span is None:
            return out
        opening, closing = span
        first = decoded.steps[opening]
        # The closing parenthesis may be held for several steps.
        last = decoded.steps[closing]
        while last + 1 < len(best) and best[last + 1] == decoded.labels[closing]:
            last += 1
        if out is probabilities:
            out = probabilities.copy()
        out[first : last + 1] = 0.0
        out[first : last + 1, blank_index] = 1.0
        log.debug("dropped a printed caption %r", "".join(characters[opening : closing + 1]))
        start = closing + 1


def _is_caption_text(inside: list[str]) -> bool:
    return sum(c.isalpha() for c in inside) >= MIN_CAPTION_LETTERS and not any(c.isdigit() for c in inside)


def _cut_caption_tail(characters: list[str]) -> int | None:
    """The index of the `)` that closes a caption cut by the line's left edge, or None."""
    closing = next((i for i, c in enumerate(characters) if c in "()"), None)
    if closing is None or characters[closing] != ")":
        return None
    first = next((c for c in characters[:closing] if not c.isspace()), "")
    return closing if first.islower() and _is_caption_text(characters[:closing]) else None


def _next_caption(characters: list[str], start: int) -> tuple[int, int] | None:
    """(index of `(`, index of its `)`) of the next caption from `start`, or None. A caption
    cut by the line's left edge starts at index 0, with no `(`."""
    if start == 0 and (closing := _cut_caption_tail(characters)) is not None:
        return 0, closing
    for opening in range(start, len(characters)):
        if characters[opening] != "(":
            continue
        closing = next((i for i in range(opening + 1, len(characters)) if characters[i] in "()"), None)
        if closing is None:
            return None
        if characters[closing] == "(":
            continue
        if _is_caption_text(characters[opening + 1 : closing]):
            return opening, closing
    return None
