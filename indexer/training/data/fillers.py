"""Words and field values that fill synthetic lease pages: printed prose and handwritten blanks."""

from __future__ import annotations

import numpy as np

__all__ = ["SIGNATURE_LABELS", "date", "field_text", "name", "sentence"]

_PROSE_TEXT = (
    "the Lessor hereby leases to Government premises described in Section of this Lease "
    "subject to terms and conditions set forth herein parties hereto for consideration "
    "hereinafter mentioned covenant agree as follows rent shall be payable monthly in arrears "
    "at rate per annum commencing on date of acceptance building shell requirements tenant "
    "improvements square feet rentable usable space office parking spaces located at "
    "Lease Contracting Officer effective upon execution by both parties witness whereof "
    "amount of operating costs adjusted annually paragraph premises term years firm renewal "
    "option notice days prior written consent assigns successors heirs executors said"
)
_PROSE = tuple(_PROSE_TEXT.split(" "))
_FIRST = ("John", "Mary", "Diane", "Larry", "Anna", "Karen", "Robert", "Susan", "Ken", "Megan", "Todd")
_LAST = ("Artz", "Stefani", "Taff", "Palla", "Nakashima", "Kott", "Melay", "Dinquel", "Alexander", "Smith")
_TITLES = (
    "Lease Contracting Officer",
    "MANAGING MEMBER",
    "Lease C.O.",
    "President",
    "Vice President",
    "Director",
    "Owner",
    "Authorized Agent",
)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September")
_STREETS = ("Bishop Street", "Fay Ave.", "Main St.", "Oak Avenue", "Market St.", "Pine Road")
_CITIES = ("Honolulu, HI 96813", "La Jolla, CA", "Phoenix, AZ 85003", "Denver, CO 80202", "Dallas, TX")
SIGNATURE_LABELS = ("By:", "Signature:", "LESSOR:", "WITNESS:", "Signed:", "GOVERNMENT:")


def sentence(rng: np.random.Generator, low: int, high: int) -> list[str]:
    """Between `low` and `high` (exclusive) printed words."""
    count = int(rng.integers(low, high))
    return [str(word) for word in rng.choice(_PROSE, size=count)]


def date(rng: np.random.Generator) -> str:
    month, day, year = int(rng.integers(1, 13)), int(rng.integers(1, 29)), int(rng.integers(2005, 2016))
    styles = (
        f"{month}/{day}/{year % 100:02d}",
        f"{month}/{day}/{year}",
        f"{month}-{day}-{year}",
        f"{_MONTHS[month % len(_MONTHS)]} {day}, {year}",
    )
    return styles[int(rng.integers(len(styles)))]


def name(rng: np.random.Generator) -> str:
    first, last = str(rng.choice(_FIRST)), str(rng.choice(_LAST))
    return f"{first} {chr(int(rng.integers(65, 91)))}. {last}" if rng.random() < 0.3 else f"{first} {last}"


def _amount(rng: np.random.Generator) -> str:
    return f"${int(rng.integers(100, 900_000)):,}.{int(rng.integers(0, 100)):02d}"


def _address(rng: np.random.Generator) -> str:
    return f"{int(rng.integers(10, 9999))} {rng.choice(_STREETS)}, {rng.choice(_CITIES)}"


def _initials(rng: np.random.Generator) -> str:
    return "".join(chr(int(rng.integers(65, 91))) for _ in range(int(rng.integers(2, 4))))


def field_text(rng: np.random.Generator) -> str:
    """A value a person writes into a blank: a date, amount, name, title, address or initials."""
    makers = (date, _amount, name, lambda r: str(r.choice(_TITLES)), _address, _initials)
    return str(makers[int(rng.integers(len(makers)))](rng))
