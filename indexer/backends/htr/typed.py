"""Typed CTC decoding: read a line as a date, an amount, a zip code or a phone number when it is one.

A recognizer's free reading of `8/31/2010` is often `8131/2010` (a slash read as a one). The
grammar decoder runs a CTC prefix beam search in which a prefix may only grow while its grammar
(`indexer.backends.htr.grammar`) can still complete it, and keeps the most likely whole valid
reading. That reading replaces the free one when its CTC log-likelihood is at most `margin` nats
below the free reading's: a near miss is corrected, a name is not forced into a date.

Probability matrices are (time, classes) softmax outputs over `vocabulary` (class `blank_index`
is the CTC blank; the others are the vocabulary's characters in order).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import regex
from rapidfuzz.distance import Levenshtein

from indexer.backends.htr.ctc_decode import best_path, ctc_log_likelihood, log_add
from indexer.backends.htr.grammar import GRAMMARS, FieldType, Grammar, spaced_date

__all__ = ["FieldType", "TypedCandidates", "TypedDecoder", "TypedReading", "constrained_beam_search"]

log = logging.getLogger(__name__)

_PROBABILITY_FLOOR = 1e-12
CANDIDATES_PER_STEP = 16
#: Classes less likely than this at a step are not tried there: such a character costs over 9
#: nats, beyond the shipped 6-nat margin, and skipping them halves the search's time.
_MIN_LOG_PROBABILITY = math.log(1e-4)
_ZIP_DIGITS = (5, 9)
_PHONE_DIGITS = (10, 11)
#: More letters than this (outside a month name) make a line text, not a typed field.
_MAX_LETTERS = 3
_MONTH_WORDS = (
    *("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    *("january", "february", "march", "april", "june", "july", "august", "september"),
    *("october", "november", "december"),
)


@dataclass(frozen=True, slots=True)
class TypedCandidates:
    """The free reading and the best valid reading of each field type tried, with log-likelihoods."""

    free: str
    free_log_likelihood: float
    #: (field type, text, log-likelihood), most likely first; types with no valid reading are absent.
    typed: tuple[tuple[FieldType, str, float], ...]
    steps: int


@dataclass(frozen=True, slots=True)
class TypedReading:
    """What the decoder chose: a typed reading (`field_type` set) or the free one (None)."""

    text: str
    confidence: float
    field_type: FieldType | None


def constrained_beam_search(
    log_probs: np.ndarray,
    grammar: Grammar,
    characters: Sequence[str],
    *,
    blank_index: int,
    beam_width: int = 16,
    candidates_per_step: int = CANDIDATES_PER_STEP,
) -> str | None:
    """The most likely reading `grammar` accepts, or None when the beams hold none.

    Args:
        log_probs: (time, classes) log-probabilities.
        characters: the character of each class (the blank's is ignored).
        candidates_per_step: the most likely classes tried at each step; a valid character less
            likely than those, or below a probability of 1e-4, is taken to be absent there.
    """
    steps, classes = log_probs.shape
    count = min(candidates_per_step, classes)
    # prefix text -> [log P ending in blank, log P ending in a label]
    beams: dict[str, list[float]] = {"": [0.0, -math.inf]}
    last_class: dict[str, int] = {"": -1}
    for t in range(steps):
        row = log_probs[t].tolist()
        top = [
            index
            for index in np.argpartition(-log_probs[t], count - 1)[:count].tolist()
            if row[index] >= _MIN_LOG_PROBABILITY
        ]
        following: dict[str, list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
        for prefix, (p_blank, p_label) in beams.items():
            total = log_add(p_blank, p_label)
            entry = following[prefix]
            entry[0] = log_add(entry[0], total + row[blank_index])
            last = last_class[prefix]
            if last >= 0:  # the last label held for another step collapses into the prefix
                entry[1] = log_add(entry[1], p_label + row[last])
            for index in top:
                if index == blank_index:
                    continue
                extended = prefix + characters[index]
                if not grammar.allows(extended):
                    continue
                # A repeated label only starts a new character after a blank.
                source = p_blank if index == last else total
                grown = following[extended]
                grown[1] = log_add(grown[1], source + row[index])
                last_class[extended] = index
        ranked = sorted(following.items(), key=lambda item: log_add(*item[1]), reverse=True)
        beams = {prefix: scores for prefix, scores in ranked[:beam_width]}
    valid = [prefix for prefix in beams if grammar.accepts(prefix)]
    if not valid:
        return None
    return max(valid, key=lambda prefix: log_add(*beams[prefix]))


class TypedDecoder:
    """Chooses between a line's free reading and its best reading under a field grammar.

    Args:
        vocabulary: the characters of the classes other than the blank, in class order.
        margin: nats the typed reading's log-likelihood may fall below the free reading's and still
            be chosen (chosen by cross-validation by document; `indexer.config`).
        hinted_margin: the margin when the caller names the line's type (its printed label says
            `Date:`); default: `margin`.
        beam_width: beams of the constrained search.
        candidates_per_step: the most likely classes the constrained search tries at each step.
        types: the field types tried when no hint is given.
    """

    def __init__(
        self,
        vocabulary: str,
        *,
        margin: float,
        hinted_margin: float | None = None,
        blank_index: int = 0,
        beam_width: int = 32,
        candidates_per_step: int = CANDIDATES_PER_STEP,
        types: Sequence[FieldType] = tuple(FieldType),
    ) -> None:
        if margin < 0 or (hinted_margin is not None and hinted_margin < 0):
            raise ValueError("margins must be >= 0")
        self.margin = margin
        self.hinted_margin = margin if hinted_margin is None else hinted_margin
        self._blank = blank_index
        self._beam_width = beam_width
        self._candidates_per_step = candidates_per_step
        self._types = tuple(types)
        self._characters = [""] * (len(vocabulary) + 1)
        for index in range(len(vocabulary) + 1):
            if index != blank_index:
                self._characters[index] = vocabulary[index - 1 if index > blank_index else index]
        self._class_of = {char: index for index, char in enumerate(self._characters) if index != blank_index}
        self._grammars = {field: Grammar(field, GRAMMARS[field]) for field in self._types}

    def candidates(self, probabilities: np.ndarray, *, type_hint: FieldType | None = None) -> TypedCandidates:
        """The free reading and the typed readings worth trying (all of them for the hinted type)."""
        log_probs = np.log(np.maximum(probabilities, _PROBABILITY_FLOOR))
        decoded = best_path(probabilities, blank_index=self._blank)
        free_raw = "".join(self._characters[i] for i in decoded.labels)
        free_ll = self._log_likelihood(log_probs, free_raw)
        fields = (type_hint,) if type_hint is not None else _worth_trying(free_raw, self._types)
        typed: list[tuple[FieldType, str, float]] = []
        for field in fields:
            grammar = self._grammars.get(field) or Grammar(field, GRAMMARS[field])
            if grammar.accepts(free_raw):
                text: str | None = free_raw
            else:
                text = constrained_beam_search(
                    log_probs,
                    grammar,
                    self._characters,
                    blank_index=self._blank,
                    beam_width=self._beam_width,
                    candidates_per_step=self._candidates_per_step,
                )
            if text is not None:
                typed.append((field, text, self._log_likelihood(log_probs, text)))
        typed.sort(key=lambda item: item[2], reverse=True)
        return TypedCandidates(_tidy(free_raw), free_ll, tuple(typed), probabilities.shape[0])

    def decode(self, probabilities: np.ndarray, *, type_hint: FieldType | None = None) -> TypedReading:
        """The typed reading when one is within the margin of the free reading (`hinted_margin` when
        `type_hint` is given), else the free reading."""
        margin = self.margin if type_hint is None else self.hinted_margin
        return choose(self.candidates(probabilities, type_hint=type_hint), margin)

    def _log_likelihood(self, log_probs: np.ndarray, text: str) -> float:
        labels = [self._class_of[char] for char in text if char in self._class_of]
        return ctc_log_likelihood(log_probs, labels, blank_index=self._blank) if labels else -math.inf


def choose(candidates: TypedCandidates, margin: float) -> TypedReading:
    """Apply the margin rule to a line's candidates (also used to cross-validate the margin)."""
    steps = max(candidates.steps, 1)
    if candidates.typed:
        field, text, log_likelihood = candidates.typed[0]
        if log_likelihood >= candidates.free_log_likelihood - margin:
            return TypedReading(spaced_date(_tidy(text)), _per_step(log_likelihood, steps), field)
    return TypedReading(candidates.free, _per_step(candidates.free_log_likelihood, steps), None)


def _worth_trying(free: str, types: Sequence[FieldType]) -> tuple[FieldType, ...]:
    """Types a free reading may be a misread of, from its shape.

    Digits are needed (a month name counts for dates); a line with more than a few letters is an
    address or a name whose numbers are not the whole reading. A slash or a month name makes it a
    date only: dropping characters turns most misread dates into a valid zip code or amount.
    """
    lower = free.lower()
    digits = sum(char.isdigit() for char in free)
    has_month = any(_is_month_like(word) for word in regex.findall(r"[a-z]{3,}", lower))
    letters = sum(char.isalpha() for char in free)
    if letters > _MAX_LETTERS and not has_month:
        return ()
    if "/" in free or has_month:
        return (FieldType.DATE,) if FieldType.DATE in types and digits >= 1 else ()
    wanted = {
        FieldType.DATE: digits >= 3,
        FieldType.AMOUNT: digits >= 3,
        # Deleting characters is cheap under CTC, so a misread date also decodes as some zip code
        # or phone number: those need their own count of digits.
        FieldType.ZIP: digits in _ZIP_DIGITS,
        FieldType.PHONE: digits in _PHONE_DIGITS,
    }
    return tuple(field for field in types if wanted[field])


def _is_month_like(word: str) -> bool:
    """A month name or abbreviation, or one edit from one (`lugust`, `tuly`, `0ct` is not a word)."""
    return any(Levenshtein.distance(word, month, score_cutoff=1) <= 1 for month in _MONTH_WORDS)


def _per_step(log_likelihood: float, steps: int) -> float:
    """exp(log-likelihood per step): a confidence in [0, 1] that does not shrink with line length."""
    if log_likelihood == -math.inf:
        return 0.0
    return min(max(math.exp(log_likelihood / steps), 0.0), 1.0)


def _tidy(text: str) -> str:
    return " ".join(text.split())
