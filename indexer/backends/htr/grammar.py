"""The grammars of typed handwritten fields (US dates, amounts, zip codes, phone numbers).

A `Grammar` answers two questions about a reading being built character by character: can it
still become a valid field (`allows`, a partial match), and is it one (`accepts`, a full match
plus range checks that a pattern cannot express, such as the days of February). The patterns use
the `regex` package, whose partial matching the standard `re` lacks. `parse_date` finds a date
anywhere in a text and gives its calendar value, for scoring and for the date check.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable

import regex

from indexer.config import DEFAULT_TWO_DIGIT_YEAR_PIVOT

__all__ = ["GRAMMARS", "FieldType", "Grammar", "parse_date", "spaced_date"]

log = logging.getLogger(__name__)


class FieldType(enum.StrEnum):
    """The kinds of typed field the decoder knows."""

    DATE = "date"
    AMOUNT = "amount"
    ZIP = "zip"
    PHONE = "phone"


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_MONTH_NUMBER = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12][0-9]|3[01])"
_ORDINAL = r"(?:st|nd|rd|th)?"
#: Two digits, or a four-digit year of the 20th or 21st century.
_YEAR = r"(?:[0-9]{2}|(?:19|20)[0-9]{2})"
_NUMERIC_DATE = "|".join(rf"{_MONTH_NUMBER} ?{sep} ?{_DAY} ?{sep} ?{_YEAR}" for sep in (r"/", r"-", r"\."))


def _plain(_name: str, pattern: str) -> str:
    return pattern


def _named(name: str, pattern: str) -> str:
    return f"(?P<{name}>{pattern})"


def _month_first(group: Callable[[str, str], str]) -> str:
    """`March 13, 2012`; `group` names its parts (`_named`) or leaves them bare (`_plain`)."""
    return (
        rf"{group('month', _MONTH)} ?{group('d', _DAY + _ORDINAL)}{group('comma', ',?')} ?{group('y', _YEAR)}"
    )


def _day_first(group: Callable[[str, str], str]) -> str:
    """`13th day of March 2012`, `13 March, 2012`."""
    return (
        rf"{group('d', _DAY + _ORDINAL)} ?{group('of', '(?:day ?of ?)?')}{group('month', _MONTH)}"
        rf"{group('comma', ',?')} ?{group('y', _YEAR)}"
    )


_DATE = rf"(?:{_NUMERIC_DATE}|{_month_first(_plain)}|{_day_first(_plain)})"
_CENTS = r"(?:[. ][0-9]{2})"
_GROUPED = r"[1-9][0-9]{0,2}(?:,[0-9]{3})+"
#: `$40,900.00`, `$728`, `40,900 00`, `3408.33`: a dollar sign, thousands commas or cents.
_AMOUNT = rf"(?:\$ ?(?:{_GROUPED}|[0-9]+){_CENTS}?|{_GROUPED}{_CENTS}?|[0-9]+{_CENTS})"
_ZIP = r"(?:[0-9]{5}(?:-[0-9]{4})?)"
_PHONE = r"(?:(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[-. ]?)[2-9][0-9]{2}[-. ]?[0-9]{4})"

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
#: Prefixes whose answer a grammar remembers.
_MAX_CACHED_PREFIXES = 200_000
#: Two-digit years below this are 20yy, the others 19yy (the entity finder's default rule).
_CENTURY_PIVOT = DEFAULT_TWO_DIGIT_YEAR_PIVOT

_SEARCH_NUMERIC = regex.compile(
    r"(?<![0-9/.-])(?P<m>[0-9]{1,2}) ?(?P<sep>[/.-]) ?(?P<d>[0-9]{1,2}) ?(?P=sep) ?"
    r"(?P<y>[0-9]{4}|[0-9]{2})(?![0-9])"
)
_SEARCH_MONTH_FIRST = regex.compile(
    rf"(?<![a-z])(?P<month>{_MONTH}) ?(?P<d>[0-9]{{1,2}}){_ORDINAL},? ?(?P<y>[0-9]{{4}}|[0-9]{{2}})(?![0-9])",
    regex.IGNORECASE,
)
_SEARCH_DAY_FIRST = regex.compile(
    rf"(?<![0-9])(?P<d>[0-9]{{1,2}}){_ORDINAL} ?(?:day ?of ?)?(?P<month>{_MONTH}),? ?"
    r"(?P<y>[0-9]{4}|[0-9]{2})(?![0-9])",
    regex.IGNORECASE,
)


#: The written-out dates of `_DATE`, with their parts named, for `spaced_date`.
_WHOLE_MONTH_FIRST = regex.compile(rf" *{_month_first(_named)} *", regex.IGNORECASE)
_WHOLE_DAY_FIRST = regex.compile(rf" *{_day_first(_named)} *", regex.IGNORECASE)


def spaced_date(text: str) -> str:
    """A reading that is one written-out date, with a space between its month, day and year.

    The recognizers run handwritten words together (`SEPT30,2021`, `MAR.152011`); the date's
    grammar knows where its parts end, so the reading shows them apart (`SEPT 30, 2021`,
    `MAR. 15 2011`). Any other text comes back unchanged.
    """
    if parse_date(text) is None:
        return text
    match = _WHOLE_MONTH_FIRST.fullmatch(text)
    if match is not None:
        return f"{match['month']} {match['d']}{match['comma']} {match['y']}"
    match = _WHOLE_DAY_FIRST.fullmatch(text)
    if match is not None:
        of = " day of" if match["of"] else ""
        return f"{match['d']}{of} {match['month']}{match['comma']} {match['y']}"
    return text


def parse_date(text: str) -> dt.date | None:
    """The first valid US date written in `text` (`3/13/12`, `March 13, 2012`, `13th day of March 2012`)."""
    found: list[tuple[int, dt.date]] = []
    for pattern in (_SEARCH_NUMERIC, _SEARCH_MONTH_FIRST, _SEARCH_DAY_FIRST):
        for match in pattern.finditer(text):
            groups = match.groupdict()
            if "month" in groups:
                month = _MONTHS.get(groups["month"].lower().rstrip("."))
            else:
                month = int(groups["m"])
            value = _to_date(groups["y"], month, int(groups["d"]))
            if value is not None:
                found.append((match.start(), value))
                break
    return min(found)[1] if found else None


def _to_date(year_text: str, month: int | None, day: int) -> dt.date | None:
    year = int(year_text)
    if len(year_text) == 2:
        year += 2000 if year < _CENTURY_PIVOT else 1900
    if month is None or not 1900 <= year <= 2099:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


class Grammar:
    """One field type's whole-reading pattern, with partial matching for a decoder's prefixes.

    Readings may start and end with spaces; letters match in either case.
    """

    def __init__(self, field_type: FieldType, pattern: str) -> None:
        self.field_type = field_type
        self._pattern = regex.compile(rf" *(?:{pattern}) *", regex.IGNORECASE)
        self._allows: dict[str, bool] = {}

    def allows(self, prefix: str) -> bool:
        """True when `prefix` can still be completed to a valid reading (cached: the decoder asks often)."""
        known = self._allows.get(prefix)
        if known is None:
            if len(self._allows) >= _MAX_CACHED_PREFIXES:  # a daemon reads for days
                self._allows.clear()
            known = self._pattern.fullmatch(prefix, partial=True) is not None
            self._allows[prefix] = known
        return known

    def accepts(self, text: str) -> bool:
        """True when `text` is a whole valid reading of this type (dates also exist on the calendar)."""
        if self._pattern.fullmatch(text) is None:
            return False
        return self.field_type != FieldType.DATE or parse_date(text) is not None


GRAMMARS: dict[FieldType, str] = {
    FieldType.DATE: _DATE,
    FieldType.AMOUNT: _AMOUNT,
    FieldType.ZIP: _ZIP,
    FieldType.PHONE: _PHONE,
}
