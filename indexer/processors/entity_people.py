"""Addresses, zip codes, phone numbers, person names and job titles in handwriting.

Libraries do the parsing: `usaddress` tags address parts, `probablepeople` tells a person's
name from a company's, `phonenumbers` finds valid US numbers. What they cannot know is kept
here: which tags make an address, which words are job titles and how contracts abbreviate them
(`Lease C.O.`, `V.P.`, `OPS. MGR`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import phonenumbers
import probablepeople
import usaddress

from indexer.processors.entity_dates import Found

__all__ = ["find_addresses", "find_names", "find_phones", "find_titles", "find_zip_codes"]

log = logging.getLogger(__name__)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STATES = _word_set(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY "
    "NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
)
# Spelled-out or abbreviated state names that usaddress tags as StateName.
_STATE_WORDS = frozenset({"ariz", "calif", "hawaii", "arizona", "california", "texas", "nev", "wash"})
_STREET_TAGS = frozenset({"AddressNumber", "StreetName"})
_PLACE_TAGS = frozenset({"PlaceName", "StateName"})
_ADDRESS_TAGS = frozenset({
    "AddressNumber", "AddressNumberSuffix", "StreetNamePreDirectional", "StreetNamePreType", "StreetName",
    "StreetNamePostType", "StreetNamePostDirectional", "OccupancyType", "OccupancyIdentifier",
    "SubaddressType", "SubaddressIdentifier", "USPSBoxType", "USPSBoxID", "PlaceName", "StateName",
    "ZipCode",
})  # fmt: skip
_ZIP = re.compile(r"(?<![\d,.$-])\d{5}(?:-\d{4})?(?![\d,-])")
_NOT_ZIP_TAGS = frozenset({"AddressNumber", "OccupancyIdentifier", "SubaddressIdentifier", "USPSBoxID"})

# Job titles: a run of these words that ends in a head word. Abbreviations expand to the words.
_TITLE_HEADS = _word_set(
    "president officer member owner director manager agent secretary treasurer assistant receiver "
    "superintendent partner lessor landlord trustee signatory specialist representative principal "
    "chairman chair administrator controller counsel"
)
_TITLE_MODIFIERS = _word_set(
    "vice executive senior chief lease leasing contracting managing general authorized administrative "
    "assistant investment financial operating operations property asset regional court-appointed "
    "sole limited deputy associate"
)
_TITLE_ABBREVIATIONS = {
    "c.o.": "contracting officer", "v.p.": "vice president", "vp": "vice president",
    "svp": "senior vice president", "evp": "executive vice president", "asst": "assistant",
    "asst.": "assistant", "mgr": "manager", "mgr.": "manager", "ops": "operations", "ops.": "operations",
    "dir.": "director", "gen.": "general", "gen": "general", "pres.": "president",
    "ceo": "chief executive officer",
    "cfo": "chief financial officer", "coo": "chief operating officer", "gm": "general manager",
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z][A-Za-z'.-]*")

# A line that names a company has no person's name in it (`Chase Hamilton, LLC`).
_COMPANY = re.compile(
    r"\b(?:l\.?l\.?c|l\.?p|inc|corp|corporation|company|co\.|ltd|trust|bank|associates|partners"
    r"|airport|university|county|city of|state of|department|district|authority)\b",
    re.IGNORECASE,
)
# A form label before a name: `By: Tom Lee`, `Witness: Carol White`, `Name: ...`.
_LABEL = re.compile(r"^\s*[A-Za-z]+(?: [A-Za-z]+)?:\s*")
_NAME_TOKEN = re.compile(r"[A-Za-z][A-Za-z'.-]*")
_MAX_NAME_TOKENS = 4
# probablepeople tags words it does not know as names: these are never part of one.
_NOT_NAME_WORDS = (
    _TITLE_HEADS
    | _TITLE_MODIFIERS
    | _word_set(
        "please see attached signature signatures page pages notary name title date by witness the and of "
        "for "
        "lease lessee tenant government united states america seal sign here initial initials"
    )
)
_PERSON_PARTS = (
    ("GivenName", "FirstInitial", "Surname"),
    ("SecondGivenName", "SecondInitial", "SecondSurname"),
)


def _squash(text: str) -> str:
    return " ".join(text.replace("\n", " ").split()).strip(" ,;")


def find_addresses(text: str) -> list[Found]:
    """A US street address or a `City, ST 12345` line, as one normalised string."""
    squashed = _squash(text)
    if not squashed:
        return []
    try:
        tags, _ = usaddress.tag(squashed)
    except usaddress.RepeatedLabelError:
        return []
    is_street = tags.keys() >= _STREET_TAGS
    is_place = tags.keys() >= _PLACE_TAGS and _is_state(tags["StateName"])
    if not (is_street or is_place):
        return []
    # The address's own tokens in the order written (a recipient or building name is left out).
    value = " ".join(token for token, label in usaddress.parse(squashed) if label in _ADDRESS_TAGS)
    return [Found("address", text.strip(), value.strip(" ,"), 0, len(text))]


def _is_state(word: str) -> bool:
    bare = word.strip(" .,").lower()
    return bare.upper() in _STATES or bare in _STATE_WORDS


def find_zip_codes(text: str) -> list[Found]:
    """5- and 9-digit zip codes; a street or suite number of the same shape is not one."""
    squashed = _squash(text)
    try:
        parsed = usaddress.parse(squashed) if squashed else []
    except usaddress.RepeatedLabelError:
        parsed = []
    not_zip = {token.strip(",.#") for token, label in parsed if label in _NOT_ZIP_TAGS}
    return [
        Found("zip_code", match.group(0), match.group(0), *match.span())
        for match in _ZIP.finditer(text)
        if match.group(0) not in not_zip
    ]


def find_phones(text: str) -> list[Found]:
    """Valid US phone numbers, in E.164 (+18085551234)."""
    return [
        Found(
            "phone",
            match.raw_string,
            phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164),
            match.start,
            match.end,
        )
        for match in phonenumbers.PhoneNumberMatcher(text, "US")
    ]


def _title_words(word: str) -> list[str]:
    """The title words `word` stands for (abbreviations expanded), or [] if it is none."""
    lowered = word.lower()
    expanded = _TITLE_ABBREVIATIONS.get(lowered) or _TITLE_ABBREVIATIONS.get(lowered.rstrip(".,"))
    words = (expanded or lowered.rstrip(".,")).split()
    return words if all(w in _TITLE_HEADS or w in _TITLE_MODIFIERS for w in words) else []


def _title_runs(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(start, end, expanded words) of each run of adjacent title words, cut after its last head word."""
    groups: list[list[tuple[re.Match[str], list[str]]]] = []
    previous_end: int | None = None
    for match in _WORD.finditer(text):
        words = _title_words(match.group(0))
        if not words:
            previous_end = None
            continue
        if previous_end is None or text[previous_end : match.start()].strip():
            groups.append([])
        groups[-1].append((match, words))
        previous_end = match.end()
    for group in groups:
        while group and group[-1][1][-1] not in _TITLE_HEADS:
            group.pop()
        if group:
            yield group[0][0].start(), group[-1][0].end(), [w for _, words in group for w in words]


def find_titles(text: str) -> list[Found]:
    """Job titles, abbreviations expanded: `Lease C.O.` -> `Lease Contracting Officer`."""
    return [
        Found("title", text[start:end], " ".join(word.title() for word in words), start, end)
        for start, end, words in _title_runs(text)
    ]


def _person_names(segment: str) -> list[str]:
    tokens = _NAME_TOKEN.findall(segment)
    if not 2 <= len(tokens) <= 2 * _MAX_NAME_TOKENS + 1:
        return []
    if any(token.lower().strip(".") in _NOT_NAME_WORDS for token in tokens if token.lower() != "and"):
        return []
    try:
        tags, kind = probablepeople.tag(segment)
    except probablepeople.RepeatedLabelError:
        return []
    if kind not in ("Person", "Household"):
        return []
    names = []
    for given, initial, surname in _PERSON_PARTS:
        if tags.get(surname) and (tags.get(given) or tags.get(initial)):
            names.append(segment if kind == "Person" else _household_name(tags, given, initial, surname))
    return [_squash(name) for name in names]


def _household_name(tags: dict[str, str], given: str, initial: str, surname: str) -> str:
    middle = "SecondMiddleInitial" if given.startswith("Second") else "MiddleInitial"
    return " ".join(tags[label] for label in (given, initial, middle, surname) if tags.get(label))


def find_names(text: str) -> list[Found]:
    """People's names (not companies): one per comma- or line-separated part of `text`."""
    found: list[Found] = []
    for line_match in re.finditer(r"[^\n]+", text):
        line = line_match.group(0)
        if _COMPANY.search(line):
            continue
        for part in re.finditer(r"[^,;]+", line):
            segment = _LABEL.sub("", part.group(0)).strip()
            if not segment or not any(char.isalpha() for char in segment):
                continue
            start = line_match.start() + part.start()
            for name in _person_names(segment):
                found.append(Found("name", segment, name, start, start + len(part.group(0))))
    return found
