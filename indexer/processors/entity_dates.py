"""Dates and money amounts in handwriting, found by pattern and normalised by libraries.

Candidates are found with patterns for the ways dates and amounts are written on US contracts
(12/13/10, 2-23-2012, July 15, 2011, 22 JUne 2010, 13th day of December, 2010; $40,900.00 and
40,900 00 with superscript cents read as a space). `dateparser` then turns a candidate into a
date (it validates the calendar and applies the configured day/month order), and `price-parser`
turns a dollar amount into a number. `dateparser.search.search_dates` is not used on whole
strings: it misses abbreviations with a period (`MAR. 15, 2011`) and is several times slower.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import Any

import dateparser
from price_parser import Price

from indexer.config import EntitySettings

__all__ = ["DateFinder", "Found", "find_amounts", "mask", "normalise_ocr_digits"]

log = logging.getLogger(__name__)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4}|\d{2})"
_DATE_PATTERNS = (
    # 12/13/10, 2-23-2012, 5.8.2012: one separator used twice, spaces around it tolerated.
    re.compile(rf"(?<![\d/.-])\d{{1,2}}\s?(?P<sep>[/.-])\s?\d{{1,2}}\s?(?P=sep)\s?{_YEAR}(?![\d/-])"),
    # 5 8 2012: spaces only with a four-digit year, so `3408 33` stays an amount.
    re.compile(r"(?<![\d,.$])\d{1,2} \d{1,2} (?P<year>\d{4})(?![\d,])"),
    # July 15, 2011 / SEPT 30, 2021 / MAR. 15, 2011; handwriting readers drop the spaces
    # (`Oct28, 2010`, `SEPT30,2021`, `MAR.152011`), so they are optional.
    # A two-digit year still needs its comma or space (`May 2011` is no May 20, 2011).
    re.compile(
        rf"\b(?P<month>{_MONTH})\.?\s*(?P<day>\d{{1,2}}){_ORDINAL}(?:,?\s*(?=\d{{4}}\b)|,\s*|\s+){_YEAR}\b",
        re.IGNORECASE,
    ),
    # 22 JUne 2010 / 13th day of December, 2010
    re.compile(rf"\b\d{{1,2}}{_ORDINAL}\s+(?:day\s+of\s+)?{_MONTH}\.?,?\s+{_YEAR}\b", re.IGNORECASE),
)
# Handwriting OCR reads 0 as O or o and 1 as l, I or |; fixed only inside runs that are mostly
# digits already (8/27/O9, 2O11, $40,9OO.00, 9OO13), so words are never touched.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1"})
_NUMBER_SHAPED = re.compile(r"(?<![A-Za-z])[$\dOoDlI|][\dOoDlI|,./-]*(?![A-Za-z])")
_MIN_REAL_DIGITS = 2

_DOLLARS = re.compile(r"\$\s?\d{1,3}(?:,\d{3})+(?:\.\d{2})?(?!\d)|\$\s?\d+(?:\.\d{2})?(?![\d,])")
# 40,900 00 and 3408 33: superscript cents read as a separate group of two digits.
_SPACE_CENTS = re.compile(r"(?<![\d,.$])(?P<whole>\d{1,3}(?:,\d{3})+|\d{3,}) (?P<cents>\d{2})(?![\d,.])")
# 40,900.00 without a dollar sign: thousands separators and cents make it money.
_PLAIN_AMOUNT = re.compile(r"(?<![\d,.$])\d{1,3}(?:,\d{3})+\.\d{2}(?![\d,.])")


@dataclass(frozen=True, slots=True)
class Found:
    """One entity: its kind, the text as written, its normalised value, and where it was."""

    kind: str
    text: str
    value: Any
    start: int
    end: int


def mask(text: str, found: list[Found]) -> str:
    """`text` with every found entity blanked (same length, so offsets stay valid)."""
    chars = list(text)
    for item in found:
        chars[item.start : item.end] = " " * (item.end - item.start)
    return "".join(chars)


def normalise_ocr_digits(text: str) -> str:
    """Undo letter-for-digit OCR confusions in number-shaped runs; same length as `text`."""

    def fix(match: re.Match[str]) -> str:
        run = match.group(0)
        digits = sum(char.isdigit() for char in run)
        letters = sum(char.isalpha() for char in run)
        return run.translate(_DIGIT_LOOKALIKES) if digits >= max(_MIN_REAL_DIGITS, letters) else run

    return _NUMBER_SHAPED.sub(fix, text)


class _DateNormaliser:
    """Candidate text -> ISO date with `dateparser`, with our own two-digit-year rule."""

    def __init__(self, settings: EntitySettings) -> None:
        self._settings = settings

    @cached_property
    def _parser_settings(self) -> dict[str, Any]:
        return {
            "DATE_ORDER": self._settings.date_order,
            "REQUIRE_PARTS": ["day", "month", "year"],
            "PARSERS": ["absolute-time"],
            "PREFER_DAY_OF_MONTH": "first",
        }

    def _full_year(self, two_digits: str) -> str:
        year = int(two_digits)
        century = 2000 if year < self._settings.two_digit_year_pivot else 1900
        return str(century + year)

    def __call__(self, text: str, year_start: int, year_end: int) -> date | None:
        year = text[year_start:year_end]
        if len(year) == 2:
            text = text[:year_start] + self._full_year(year) + text[year_end:]
        parsed = dateparser.parse(text, languages=["en"], settings=self._parser_settings)
        if parsed is None or not self._settings.min_year <= parsed.year <= self._settings.max_year:
            return None
        day: date = parsed.date()
        return day


def _candidate(match: re.Match[str]) -> tuple[str, int, int]:
    """The text `dateparser` gets for a match, and where its year is in it: a month-name date is
    spelled out again with spaces (`MAR.152011` -> `MAR 15 2011`), which `dateparser` needs."""
    groups = match.groupdict()
    if groups.get("month") and groups.get("day"):
        text = f"{groups['month']} {groups['day']} {groups['year']}"
        return text, len(text) - len(groups["year"]), len(text)
    start = match.start()
    year_start, year_end = match.span("year")
    return match.group(0), year_start - start, year_end - start


class DateFinder:
    """Finds every date in a text, with its ISO value (YYYY-MM-DD); what is not a real date is skipped."""

    def __init__(self, settings: EntitySettings) -> None:
        self._normalise = _DateNormaliser(settings)

    def __call__(self, text: str) -> list[Found]:
        cleaned = text
        found: list[Found] = []
        for pattern in _DATE_PATTERNS:
            for match in pattern.finditer(mask(cleaned, found)):
                start, end = match.span()
                candidate, year_start, year_end = _candidate(match)
                value = self._normalise(candidate, year_start, year_end)
                if value is None:
                    log.debug("not a date: %r", match.group(0))
                    continue
                found.append(Found("date", text[start:end], value.isoformat(), start, end))
        return sorted(found, key=lambda item: item.start)


def find_amounts(text: str) -> list[Found]:
    """Money amounts as floats: $40,900.00, 40,900.00, and 40,900 00 (cents read as a group)."""
    found: list[Found] = []
    for match in _DOLLARS.finditer(text):
        price = Price.fromstring(match.group(0), currency_hint="USD", decimal_separator=".")
        if price.amount is not None:
            found.append(Found("amount", match.group(0), float(price.amount), *match.span()))
    for match in _SPACE_CENTS.finditer(mask(text, found)):
        whole = int(match.group("whole").replace(",", ""))
        value = whole + int(match.group("cents")) / 100
        found.append(Found("amount", match.group(0), value, *match.span()))
    for match in _PLAIN_AMOUNT.finditer(mask(text, found)):
        found.append(Found("amount", match.group(0), float(match.group(0).replace(",", "")), *match.span()))
    return sorted(found, key=lambda item: item.start)
