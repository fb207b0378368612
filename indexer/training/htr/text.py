"""Random contract vocabulary for synthetic handwriting: dates, amounts, addresses, names, titles.

The form-field word lists are generic US vocabulary; proper names from the validation documents
of contracts-dev were deliberately left out of them so that the validation score is not inflated.
The English lines draw from wordfreq's commonest words, a list made without our documents; it
holds common names too, and five of them (Anna, Chase, Hamilton, Larry, Patrick) happen to be
written in validation crops.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator

__all__ = ["VOCABULARY", "lexicon_words", "random_text"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


#: Characters the recognizer can emit (the CTC blank is extra).
VOCABULARY = " !\"#$%&'()*+,-./0123456789:;?@ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_MONTHS = _words("January February March April May June July August September October November December")
_MONTH_SHORT = _words("Jan Feb Mar Apr May Jun Jul Aug Sep Sept Oct Nov Dec")
_FIRST = _words(
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald "
    "Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Scott Brandon Frank Gregory "
    "Raymond Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy "
    "Betty Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah "
    "Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Brenda Emma Pamela Nicole "
    "Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Maria Heather Diane Julie Joyce "
    "Victoria Kelly Lauren Christina Joan Evelyn Judith Megan Cheryl Andrea Hannah Martha Jacqueline "
    "Frances Gloria Ann Teresa Kathryn Sara Janice Jean Alice Madison Doris Abigail Julia Judy Grace "
    "Denise Amber Marilyn Beverly Danielle Theresa Sophia Marie Diana Brittany Natalie Isabella "
    "Charlotte Rose Alexis Kayla Ken Phyllis Todd Lynn Karen Babette Jeffrey Meredith Omar Raj Kenji "
    "Hiro Leilani Keoni Ramon Luis Carlos"
)
_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders "
    "Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Graham "
    "Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy "
    "Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter "
    "Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black "
    "Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson "
    "Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce "
    "Hansen Peters Santos Hart Bradley Knight Elliott Nakamura Tanaka Yamamoto Kusy Burdett Melay "
    "Kott Sylvester Alexander Nakashima Stefani Artz"
)
_STREET = _words(
    "Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Bishop Market Broadway Mission Ocean "
    "Harbor Sunset Valley Center Mill Church Spring Ridge River Front Union Kalakaua Lincoln "
    "Jefferson Madison Grand Federal Airport Commerce Gateway Industrial Capitol Kapiolani Wilshire "
    "Figueroa"
)
_STREET_KIND = _words(
    "St St. Street Ave Ave. Avenue Blvd Blvd. Boulevard Rd Rd. Road Dr Dr. Drive Way Ct. Court"
)
_UNIT = ("Suite", "Ste", "Ste.", "#", "Unit", "Floor", "FLR")
_CITY = _phrases(
    "Los Angeles|San Diego|San Francisco|Sacramento|Phoenix|Mesa|Tucson|Honolulu|Hilo|Kailua|Seattle|"
    "Portland|Denver|Dallas|Houston|Austin|Chicago|Boston|Atlanta|Miami|Reno|Las Vegas|Fresno|"
    "Oakland|Long Beach|Anaheim|Riverside|Redding|Chico|Eureka|Flagstaff|Prescott|Yuma|Camp Verde|"
    "Scottsdale|Tempe|Chandler|Gilbert|Glendale|Irvine|Carlsbad|Oceanside|Escondido|Pasadena|Ventura"
)
_STATE = _words("CA AZ HI NV OR WA TX CO NM UT ID FL NY IL MA GA Calif. Ariz. Hawaii California Arizona")
_TITLE = _phrases(
    "Lease Contracting Officer|Contracting Officer|Lease C.O.|Managing Member|Member|Manager|Owner|"
    "President|Vice President|Senior Vice President|V.P.|SVP|EVP|CEO|CFO|Chief Executive Officer|"
    "Chief Financial Officer|Chief Operating Officer|General Partner|Partner|Trustee|Receiver|Agent|"
    "Executive Director|Director|Director of Operations|Property Manager|Asset Manager|Secretary|"
    "Treasurer|Administrative Asst|Administrative Assistant|Executive Assistant|Superintendent|"
    "Operations Manager|Attorney in Fact|Managing Director|General Manager|Principal|"
    "Asst Superintendent|Witness|Notary Public|Lessor|Lessee"
)
_COMPANY_WORD = _words(
    "Pacific Western Summit Harbor Capital Plaza Gateway Center Properties Realty Investments "
    "Holdings Partners Development Office Management Station Tower Square Park Ventures Group Land "
    "Commercial Federal Trust Enterprises Associates Airport Industrial"
)
_COMPANY_KIND = ("LLC", "L.L.C.", "LP", "L.P.", "Inc.", "INC", "Corp.", "Company", "Co.", "Trust", "LLP")
_PHRASE = _phrases(
    "PLEASE SEE ATTACHED SIGNATURE PAGE|SEE ATTACHED|SEE ATTACHED SIGNATURE & NOTARY PAGES|"
    "a Hawaii limited partnership|an Arizona corporation|N/A|None|limited liability company|"
    "general partnership|Authorized Signatory|and|for|of|the"
)


def _date(rng: random.Random) -> str:
    year = rng.randint(1998, 2024)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    short_year = f"{year % 100:02d}" if rng.random() < 0.5 else str(year)
    form = rng.randrange(6)
    if form <= 1:
        return f"{month}/{day}/{short_year}"
    if form == 2:
        return f"{month}-{day}-{short_year}"
    if form == 3:
        return f"{_MONTHS[month - 1]} {day}, {year}"
    if form == 4:
        day_text = f"{day:02d}" if rng.random() < 0.3 else str(day)
        return f"{rng.choice(_MONTH_SHORT)}{rng.choice(('', '.'))} {day_text}, {year}"
    return f"{month:02d}/{day:02d}/{short_year}"


def _amount(rng: random.Random) -> str:
    value = rng.choice((rng.randint(1, 999), rng.randint(1000, 99_999), rng.randint(100_000, 9_999_999)))
    cents = rng.randint(0, 99)
    grouped = f"{value:,}" if rng.random() < 0.8 else str(value)
    form = rng.randrange(5)
    if form == 0:
        return f"${grouped}.{cents:02d}"
    if form == 1:
        return f"{grouped} {cents:02d}"
    if form == 2:
        return f"${grouped}"
    if form == 3:
        return f"{grouped}.{cents:02d}"
    return str(rng.randint(0, 5000))


def _zip(rng: random.Random) -> str:
    code = f"{rng.randint(80000, 99999)}"
    return f"{code}-{rng.randint(0, 9999):04d}" if rng.random() < 0.2 else code


def _address(rng: random.Random) -> str:
    street = f"{rng.randint(1, 29999)} {rng.choice(_STREET)} {rng.choice(_STREET_KIND)}"
    parts = [street]
    if rng.random() < 0.5:
        unit = rng.choice(_UNIT)
        parts.append(f"{unit}{'' if unit == '#' else ' '}{rng.randint(1, 2500)}")
    if rng.random() < 0.8:
        parts.append(rng.choice(_CITY))
    if rng.random() < 0.8:
        parts.append(f"{rng.choice(_STATE)} {_zip(rng)}" if rng.random() < 0.7 else rng.choice(_STATE))
    separator = ", " if rng.random() < 0.7 else " "
    count = rng.randint(1, len(parts))
    return separator.join(parts[:count] if rng.random() < 0.5 else parts[-count:])


def _name(rng: random.Random) -> str:
    first = rng.choice(_FIRST)
    last = rng.choice(_LAST)
    if rng.random() < 0.4:
        return f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}{rng.choice(('.', ''))} {last}"
    if rng.random() < 0.1:
        return f"{first} {last} and {rng.choice(_FIRST)} {rng.choice(_LAST)}"
    return f"{first} {last}"


def _company(rng: random.Random) -> str:
    words = " ".join(rng.sample(_COMPANY_WORD, rng.randint(1, 2)))
    return f"{words}{rng.choice((',', ''))} {rng.choice(_COMPANY_KIND)}"


def _mixed(rng: random.Random) -> str:
    return (
        rng.choice((_name, _title, _date))(rng) + rng.choice((", ", " ")) + rng.choice((_title, _date))(rng)
    )


def _title(rng: random.Random) -> str:
    return rng.choice(_TITLE)


def _phrase(rng: random.Random) -> str:
    return rng.choice(_PHRASE)


#: How many of the most frequent English words `_english` draws from.
ENGLISH_WORDS = 20_000


@functools.cache
def english_words() -> tuple[str, ...]:
    """The most frequent alphabetic English words (wordfreq's list, which ships in its wheel)."""
    import wordfreq

    return tuple(w for w in wordfreq.top_n_list("en", ENGLISH_WORDS) if w.isalpha())


def _english(rng: random.Random) -> str:
    """A few common English words: clauses and amended terms, not only the form fields above."""
    words = [rng.choice(english_words()) for _ in range(rng.randint(1, 6))]
    if rng.random() < 0.5:
        words[0] = words[0].capitalize()
    if len(words) > 2 and rng.random() < 0.3:
        cut = rng.randrange(1, len(words) - 1)
        words[cut] += ","
    return " ".join(words)


def _number(rng: random.Random) -> str:
    return rng.choice((str(rng.randint(0, 99)), str(rng.randint(100, 99999)), f"{rng.randint(1, 9999)}'"))


_GENERATORS: tuple[tuple[Callable[[random.Random], str], float], ...] = (
    (_date, 0.2),
    (_amount, 0.1),
    (_address, 0.17),
    (_name, 0.17),
    (_title, 0.12),
    (_company, 0.06),
    (_phrase, 0.06),
    (_mixed, 0.06),
    (_number, 0.03),
    (_zip, 0.03),
    (_english, 0.15),
)


def _restyle(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return text.upper()
    if roll < 0.4:
        return text.lower()
    return text


def random_text(rng: random.Random, *, max_chars: int = 48) -> str:
    """One random contract-like string: a word, a date, or a short line."""
    functions, weights = zip(*_GENERATORS, strict=True)
    while True:
        text = _restyle(rng.choices(functions, weights)[0](rng), rng)
        if 0 < len(text) <= max_chars:
            return text


def lexicon_words() -> Iterator[str]:
    """Alphabetic words of the generators' vocabulary, for the spelling corrector."""
    pools = (_MONTHS, _MONTH_SHORT, _FIRST, _LAST, _STREET, _STREET_KIND, _CITY, _STATE, _TITLE)
    for pool in (*pools, _COMPANY_WORD, _PHRASE):
        for entry in pool:
            for word in entry.replace(",", " ").replace(".", " ").replace("-", " ").split():
                if word.isalpha():
                    yield word
