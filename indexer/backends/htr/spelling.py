"""Word-level spelling correction for recognized handwriting, with a two-tier lexicon.

- **Contract words** (the training vocabulary: titles, months, street kinds, common names, and the
  words of the labelled training crops) are trusted: a misread word close to one is corrected.
- **English words** (the most frequent words of wordfreq's English list) only correct readings that
  are not English at all; a reading wordfreq knows (`Taff`, a rare surname, say) is not turned into
  a more frequent word (`Staff`).

Among the candidates within the edit limit, the one chosen is the most probable given the
recognizer's own output over the word (`WordScorer`) and the word's frequency; without a scorer,
the closest, then the most frequent. Numbers, dates, amounts and zip codes are never touched.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = ["CONTRACT", "ENGLISH", "Lexicon", "SpellingCorrector", "WordScorer", "is_english"]

log = logging.getLogger(__name__)

CONTRACT = "contract"
ENGLISH = "english"
#: Zipf frequency given to contract words that are rarer in English than this (names, `Kalakaua`).
CONTRACT_MIN_ZIPF = 4.0
#: The most candidates scored per word (the closest ones).
_MAX_CANDIDATES = 20
_LN10 = math.log(10)

#: (token index, spelling) -> log-likelihood of that spelling for that token.
WordScorer = Callable[[int, str], float]

_TOKEN = re.compile(r"^([^A-Za-z]*)([A-Za-z]+)([^A-Za-z]*)$")


@dataclass(frozen=True)
class Lexicon:
    """Lower-case words with their Zipf frequency (log10 of uses per billion words), per tier."""

    contract: Mapping[str, float]
    english: Mapping[str, float]

    @classmethod
    def from_words(cls, words: Iterable[str]) -> Lexicon:
        """Contract words only, all at `CONTRACT_MIN_ZIPF` (tests, old word-per-line files)."""
        return cls({w.lower(): CONTRACT_MIN_ZIPF for w in words if w.isalpha()}, {})

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read `word<TAB>zipf<TAB>tier` lines; a line holding only a word is a contract word."""
        contract: dict[str, float] = {}
        english: dict[str, float] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if not fields[0]:
                continue
            zipf = float(fields[1]) if len(fields) > 1 else CONTRACT_MIN_ZIPF
            tier = fields[2] if len(fields) > 2 else CONTRACT
            (english if tier == ENGLISH else contract)[fields[0].lower()] = zipf
        return cls(contract, english)

    def save(self, path: Path) -> None:
        rows = [(w, z, CONTRACT) for w, z in self.contract.items()]
        rows += [(w, z, ENGLISH) for w, z in self.english.items() if w not in self.contract]
        path.write_text("".join(f"{w}\t{z:.2f}\t{t}\n" for w, z, t in sorted(rows)), encoding="utf-8")


@functools.cache
def is_english(word: str) -> bool:
    """Whether wordfreq's large English list holds `word` at all (rare names and words included)."""
    import wordfreq

    return wordfreq.zipf_frequency(word, "en", wordlist="large") > 0


class SpellingCorrector:
    """Replaces a misread word by the most probable lexicon word within a small edit distance.

    Only purely alphabetic tokens (leading and trailing punctuation allowed) of at least
    `min_length` letters are touched; anything holding a digit, `$`, `/` or `#` (numbers, dates,
    zip codes, amounts) is left exactly as read.

    Args:
        lexicon: the words and their frequencies (`Lexicon`), or plain words taken as contract words.
        min_length: shorter words are never corrected (too many neighbours).
        is_known: whether a reading is a real word; such readings are only corrected to contract
            words. Default: `is_english`.
    """

    def __init__(
        self,
        lexicon: Lexicon | Iterable[str],
        *,
        min_length: int = 4,
        is_known: Callable[[str], bool] = is_english,
    ) -> None:
        if not isinstance(lexicon, Lexicon):
            lexicon = Lexicon.from_words(lexicon)
        self._zipf = {**lexicon.english, **lexicon.contract}
        self._all = sorted(w for w in self._zipf if len(w) >= min_length)
        self._contract = sorted(w for w in lexicon.contract if len(w) >= min_length)
        self._min_length = min_length
        self._is_known = is_known
        is_known("lexicon")  # load wordfreq's list now (0.5 s), not inside the first batch read

    def correct_word(self, token: str, score: Callable[[str], float] | None = None) -> str:
        """The corrected token, or the token itself when nothing in the lexicon is close.

        `score` gives the recognizer's log-likelihood of a spelling of this token (punctuation
        included, case ignored); without it candidates are ranked by distance, then frequency.
        """
        match = _TOKEN.match(token)
        if match is None:
            return token
        head, core, tail = match.groups()
        word = core.lower()
        if len(core) < self._min_length or word in self._zipf or any(c.isdigit() for c in head + tail):
            return token
        limit = 1 if len(core) < 8 else 2
        pool = self._contract if self._is_known(word) else self._all
        candidates = process.extract(
            word, pool, scorer=Levenshtein.distance, score_cutoff=limit, limit=_MAX_CANDIDATES
        )
        if not candidates:
            return token
        if score is not None:
            best = max(candidates, key=lambda c: (score(head + c[0] + tail) + _LN10 * self._zipf[c[0]], c[0]))
        else:
            best = min(candidates, key=lambda c: (c[1], -self._zipf[c[0]], c[0]))
        return head + _match_case(best[0], core) + tail

    def correct(self, text: str, score: WordScorer | None = None) -> str:
        """Correct each whitespace-separated token of `text`; spacing is normalised to one space.

        `score(i, spelling)` scores spellings of the i-th token (see `correct_word`).
        """
        return " ".join(
            self.correct_word(token, None if score is None else functools.partial(score, index))
            for index, token in enumerate(text.split())
        )


def _match_case(word: str, template: str) -> str:
    if template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
