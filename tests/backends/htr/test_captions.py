"""Printed captions in a line's CTC output: parenthesised letters are blanked, numbers are not."""

from __future__ import annotations

import numpy as np

from indexer.backends.htr.captions import blank_captions
from indexer.backends.htr.ctc_decode import best_path, labels_to_text

VOCABULARY = "".join(chr(code) for code in range(32, 127))  # class 0 is the blank


def _matrix(text: str, *, held: int = 1) -> np.ndarray:
    """A (time, classes) matrix whose best path reads `text`: each character held `held` steps,
    then one blank step."""
    rows = []
    for char in text:
        row = np.full(len(VOCABULARY) + 1, 1e-4, np.float32)
        row[VOCABULARY.index(char) + 1] = 0.9
        blank = np.full(len(VOCABULARY) + 1, 1e-4, np.float32)
        blank[0] = 0.9
        rows += [row / row.sum()] * held + [blank / blank.sum()]
    return np.stack(rows)


def _read(probabilities: np.ndarray) -> str:
    decoded = best_path(probabilities, blank_index=0)
    return labels_to_text(decoded.labels, VOCABULARY, blank_index=0)


def test_a_parenthesised_caption_beside_the_writing_is_blanked() -> None:
    """GIVEN a line read as `(Address) Los Angeles, CA 90017`, the closing parenthesis held 3 steps
    WHEN its captions are blanked
    THEN the writing alone is read, and the caption's steps are blanks."""
    probabilities = _matrix("(Address) Los Angeles, CA 90017", held=3)

    out = blank_captions(probabilities, VOCABULARY)

    assert _read(out).strip() == "Los Angeles, CA 90017"
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-4)
    assert out.shape == probabilities.shape


def test_every_caption_of_a_line_is_blanked() -> None:
    probabilities = _matrix("Ken Alexander (Print Name and Official title) Services")

    assert " ".join(_read(blank_captions(probabilities, VOCABULARY)).split()) == "Ken Alexander Services"


def test_area_codes_short_notes_and_unclosed_parentheses_are_kept() -> None:
    for text in ("(808) 523-4500", "tenant(s) of record", "Suite (250", "(a) the Premises"):
        probabilities = _matrix(text)

        assert blank_captions(probabilities, VOCABULARY) is probabilities, text


def test_the_tail_of_a_caption_cut_by_the_box_is_blanked() -> None:
    """GIVEN a box that starts inside `(Address)`, so its line reads `ress) 96813`
    WHEN its captions are blanked
    THEN the zip code alone is read."""
    probabilities = _matrix("ress) 96813", held=2)

    assert _read(blank_captions(probabilities, VOCABULARY)).strip() == "96813"


def test_writing_that_ends_in_a_parenthesis_is_not_a_cut_caption() -> None:
    """A capital first letter is not a word cut in its middle; a digit is not a caption."""
    for text in ("Jare) Watumull", "ab) 250", "Lot 4) Main"):
        probabilities = _matrix(text)

        assert blank_captions(probabilities, VOCABULARY) is probabilities, text
