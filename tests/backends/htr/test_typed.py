"""Typed CTC decoding: grammars, the constrained search on hand-built matrices, the margin rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from indexer.backends.htr.grammar import GRAMMARS, FieldType, Grammar, parse_date, spaced_date
from indexer.backends.htr.typed import TypedDecoder, constrained_beam_search

VOCABULARY = "".join(chr(code) for code in range(32, 127))  # class 0 is the blank

Step = str | tuple[tuple[str, float], ...]


def _matrix(steps: list[Step]) -> np.ndarray:
    """A (time, classes) matrix: each step's characters, then a step of blank, as a CTC model emits.

    A step is one character (probability 0.9) or alternatives with their probabilities; the rest
    of each step's mass goes to the blank.
    """
    rows = []
    for step in steps:
        row = np.full(len(VOCABULARY) + 1, 1e-6, np.float32)
        alternatives = ((step, 0.9),) if isinstance(step, str) else step
        for char, probability in alternatives:
            row[VOCABULARY.index(char) + 1] = probability
        row[0] = max(1.0 - row[1:].sum(), 1e-6)
        blank = np.full(len(VOCABULARY) + 1, 1e-6, np.float32)
        blank[0] = 1.0
        rows += [row / row.sum(), blank / blank.sum()]
    return np.stack(rows)


def _reading(text: str, swaps: dict[int, tuple[tuple[str, float], ...]] | None = None) -> np.ndarray:
    """The matrix of `text`, with other characters more likely at the positions in `swaps`."""
    swaps = swaps or {}
    return _matrix([swaps.get(position, char) for position, char in enumerate(text)])


def _decoder(margin: float = 6.0) -> TypedDecoder:
    return TypedDecoder(VOCABULARY, margin=margin)


def test_finds_the_best_valid_date_when_the_free_path_is_invalid() -> None:
    """GIVEN a matrix whose best path reads 8131/2010 (the first slash read as a one, narrowly)
    WHEN it is decoded
    THEN the date 8/31/2010 is read, and its type is known."""
    probabilities = _reading("8/31/2010", {1: (("1", 0.55), ("/", 0.4))})

    reading = _decoder().decode(probabilities)

    assert reading.text == "8/31/2010"
    assert reading.field_type == FieldType.DATE
    assert 0.0 < reading.confidence <= 1.0


def test_constrained_search_alone_returns_a_grammatical_reading() -> None:
    probabilities = _reading("3/13/2012", {4: (("1", 0.6), ("/", 0.3))})
    grammar = Grammar(FieldType.DATE, GRAMMARS[FieldType.DATE])
    characters = ["", *VOCABULARY]

    text = constrained_beam_search(np.log(probabilities), grammar, characters, blank_index=0)

    assert text == "3/13/2012"


def test_a_written_out_date_run_together_comes_out_spaced() -> None:
    """GIVEN a matrix that reads SEPT30,2021 (the writer's spaces lost) WHEN it is decoded THEN
    the date's parts stand apart, as the grammar parses them."""
    reading = _decoder().decode(_reading("SEPT30,2021"))

    assert reading.text == "SEPT 30, 2021"
    assert reading.field_type == FieldType.DATE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MAR.152011", "MAR. 15 2011"),
        ("Oct1, 2011", "Oct 1, 2011"),
        ("April 15,2013", "April 15, 2013"),
        ("15thday ofMarch,2012", "15th day of March, 2012"),
        ("Oct 28, 2010", "Oct 28, 2010"),
        ("5/12/11", "5/12/11"),
        ("On august 31,2011", "On august 31,2011"),  # not one date: left as read
        ("Feb30,2012", "Feb30,2012"),  # no such day
        ("MEMBER", "MEMBER"),
    ],
)
def test_spaced_date(text: str, expected: str) -> None:
    assert spaced_date(text) == expected


def test_leaves_a_non_date_alone() -> None:
    reading = _decoder().decode(_reading("MEMBER"))

    assert reading.text == "MEMBER"
    assert reading.field_type is None


def test_keeps_the_free_reading_when_the_typed_one_is_far_less_likely() -> None:
    """A clear 31/31/2010 has no valid date near it: with margin 0 the free reading stays."""
    probabilities = _reading("31/31/2010")

    assert _decoder(margin=0.0).decode(probabilities).text == "31/31/2010"
    assert _decoder(margin=0.0).decode(probabilities).field_type is None


def test_a_type_hint_decodes_a_line_the_reading_alone_would_not_try() -> None:
    """`96B13` holds four digits, too few to try a zip code unasked; the zip hint reads 96813."""
    probabilities = _reading("96813", {2: (("B", 0.55), ("8", 0.4))})

    assert _decoder().decode(probabilities).text == "96B13"
    hinted = _decoder().decode(probabilities, type_hint=FieldType.ZIP)
    assert (hinted.text, hinted.field_type) == ("96813", FieldType.ZIP)


def test_a_hinted_line_gets_the_hinted_margin() -> None:
    """GIVEN 1/13/2010 whose slashes the model reads as ones (each slash 2.5 nats less likely)
    WHEN it is decoded with margin 3 and hinted margin 9
    THEN read alone it stays the free 111312010; with a date hint it is the date."""
    slash_as_one = (("1", 0.9), ("/", 0.074))
    probabilities = _reading("1/13/2010", {1: slash_as_one, 4: slash_as_one})
    decoder = TypedDecoder(VOCABULARY, margin=3.0, hinted_margin=9.0)

    assert decoder.decode(probabilities).text == "111312010"
    hinted = decoder.decode(probabilities, type_hint=FieldType.DATE)
    assert (hinted.text, hinted.field_type) == ("1/13/2010", FieldType.DATE)
    # Without a hinted margin, a hint changes which types are tried but not the margin.
    assert (
        TypedDecoder(VOCABULARY, margin=3.0).decode(probabilities, type_hint=FieldType.DATE).text
        == "111312010"
    )


def test_margins_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="margins"):
        TypedDecoder(VOCABULARY, margin=6.0, hinted_margin=-1.0)


@pytest.mark.parametrize(
    ("text", "swaps", "expected"),
    [
        ("8/31/2010", {1: (("1", 0.6), ("/", 0.3))}, "8/31/2010"),
        ("3/13/2012", {4: (("1", 0.6), ("/", 0.35))}, "3/13/2012"),
        ("2/23/12", {1: (("1", 0.5), ("/", 0.45))}, "2/23/12"),
        ("5-8-2012", {}, "5-8-2012"),
        ("July 07, 2010", {0: (("t", 0.6), ("J", 0.3))}, "July 07, 2010"),
        ("Oct 28, 2010", {0: (("Q", 0.6), ("O", 0.35))}, "Oct 28, 2010"),
        ("13th day of December, 2010", {}, "13th day of December, 2010"),
        ("Phyllis J MSDONARD", {}, "Phyllis J MSDONARD"),
        ("841 Bishop St., #1700", {}, "841 Bishop St., #1700"),
        ("Torrance, CA 90502", {}, "Torrance, CA 90502"),
        ("$728,128.50", {4: ((",", 0.5), ("1", 0.45))}, "$728,128.50"),
        ("96813", {}, "96813"),
    ],
)
def test_real_looking_readings(
    text: str, swaps: dict[int, tuple[tuple[str, float], ...]], expected: str
) -> None:
    assert _decoder().decode(_reading(text, swaps)).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3/13/12", dt.date(2012, 3, 13)),
        ("12/22/09", dt.date(2009, 12, 22)),
        ("5-8-2012", dt.date(2012, 5, 8)),
        ("SEPT 30, 2021", dt.date(2021, 9, 30)),
        ("MAR. 15, 2011", dt.date(2011, 3, 15)),
        ("13th day of December, 2010", dt.date(2010, 12, 13)),
        ("Dated 7/28/2010 by", dt.date(2010, 7, 28)),
        ("2/30/12", None),
        ("8131/2010", None),
        ("$728,128.50", None),
        ("800 W. 6th ST. 5th FLR", None),
    ],
)
def test_parse_date(text: str, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("field", "text", "accepted"),
    [
        (FieldType.DATE, "8/31/2010", True),
        (FieldType.DATE, "13/31/2010", False),
        (FieldType.DATE, "2/30/2012", False),
        (FieldType.DATE, "4/25/1850", False),
        (FieldType.AMOUNT, "$40,900.00", True),
        (FieldType.AMOUNT, "40,900 00", True),
        (FieldType.AMOUNT, "4090000", False),
        (FieldType.ZIP, "96001-2847", True),
        (FieldType.ZIP, "9600", False),
        (FieldType.PHONE, "(808) 555-1234", True),
        (FieldType.PHONE, "808-555-1234", True),
        (FieldType.PHONE, "555-1234", False),
    ],
)
def test_grammars(field: FieldType, text: str, accepted: bool) -> None:
    grammar = Grammar(field, GRAMMARS[field])
    assert grammar.accepts(text) is accepted
    if accepted:  # every prefix of a valid reading may still grow into it
        assert all(grammar.allows(text[:end]) for end in range(len(text) + 1))


def test_a_prefix_no_date_starts_with_is_refused() -> None:
    assert not Grammar(FieldType.DATE, GRAMMARS[FieldType.DATE]).allows("13/")
