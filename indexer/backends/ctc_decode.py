"""CTC decoding (best path, prefix beam search) and a word-level spelling correction.

Probability matrices are (time, classes) softmax outputs; `blank_index` is the CTC blank.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = ["Decoded", "SpellingCorrector", "best_path", "prefix_beam_search"]

log = logging.getLogger(__name__)

_PROBABILITY_FLOOR = 1e-12


@dataclass(frozen=True, slots=True)
class Decoded:
    """Class indices of the decoded label (blank removed) and its confidence in [0, 1]."""

    labels: tuple[int, ...]
    confidence: float


def best_path(probabilities: np.ndarray, *, blank_index: int) -> Decoded:
    """Greedy decoding: the most likely class per step, repeats collapsed, blanks removed.

    The confidence is the geometric mean of the per-step maxima, so it does not shrink with
    the crop's width.
    """
    if probabilities.shape[0] == 0:
        return Decoded((), 0.0)
    best = probabilities.argmax(axis=1)
    labels: list[int] = []
    previous = -1
    for index in best.tolist():
        if index != previous and index != blank_index:
            labels.append(index)
        previous = index
    maxima = np.maximum(probabilities.max(axis=1), _PROBABILITY_FLOOR)
    confidence = float(np.exp(np.log(maxima).mean()))
    return Decoded(tuple(labels), min(max(confidence, 0.0), 1.0))


def _log_add(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    high, low = (a, b) if a > b else (b, a)
    return high + math.log1p(math.exp(low - high))


def prefix_beam_search(
    probabilities: np.ndarray, *, blank_index: int, beam_width: int = 8, prune: float = 1e-4
) -> Decoded:
    """CTC prefix beam search (Hannun et al. 2014) in log space, without a language model.

    Classes below `prune` at a step are skipped, which keeps it fast on peaked outputs. The
    confidence is the best prefix's probability per time step (geometric mean).
    """
    steps = probabilities.shape[0]
    if steps == 0:
        return Decoded((), 0.0)
    log_probs = np.log(np.maximum(probabilities, _PROBABILITY_FLOOR))
    # prefix -> (log P ending in blank, log P ending in non-blank)
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    for t in range(steps):
        candidates = np.flatnonzero(probabilities[t] >= prune)
        following: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
        for prefix, (p_blank, p_label) in beams.items():
            p_total = _log_add(p_blank, p_label)
            for index in candidates.tolist():
                p = float(log_probs[t, index])
                if index == blank_index:
                    entry = following[prefix]
                    entry[0] = _log_add(entry[0], p_total + p)
                    continue
                extended = (*prefix, index)
                entry = following[extended]
                if prefix and prefix[-1] == index:
                    # A repeat only extends after a blank; otherwise it collapses into the prefix.
                    entry[1] = _log_add(entry[1], p_blank + p)
                    same = following[prefix]
                    same[1] = _log_add(same[1], p_label + p)
                else:
                    entry[1] = _log_add(entry[1], p_total + p)
        ranked = sorted(following.items(), key=lambda item: _log_add(*item[1]), reverse=True)
        beams = {prefix: (scores[0], scores[1]) for prefix, scores in ranked[:beam_width]}
    prefix, (p_blank, p_label) = max(beams.items(), key=lambda item: _log_add(*item[1]))
    confidence = math.exp(_log_add(p_blank, p_label) / steps)
    return Decoded(prefix, min(max(confidence, 0.0), 1.0))


_TOKEN = re.compile(r"^([^A-Za-z]*)([A-Za-z]+)([^A-Za-z]*)$")


def _match_case(word: str, template: str) -> str:
    if template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class SpellingCorrector:
    """Replaces a misread word by the closest lexicon word, within a small edit distance.

    Only purely alphabetic tokens (leading and trailing punctuation allowed) of at least
    `min_length` letters are touched; anything holding a digit, `$`, `/` or `#` (numbers, dates,
    zip codes, amounts) is left exactly as read.
    """

    def __init__(self, words: Iterable[str], *, min_length: int = 4) -> None:
        self._words = sorted({word.lower() for word in words if word.isalpha() and len(word) >= min_length})
        self._known = set(self._words)
        self._min_length = min_length

    def __len__(self) -> int:
        return len(self._words)

    def correct_word(self, token: str) -> str:
        """The corrected token, or the token itself when nothing in the lexicon is close."""
        match = _TOKEN.match(token)
        if match is None:
            return token
        head, core, tail = match.groups()
        if (
            len(core) < self._min_length
            or core.lower() in self._known
            or any(c.isdigit() for c in head + tail)
        ):
            return token
        limit = 1 if len(core) < 8 else 2
        # The first lexicon word (alphabetical) at the smallest distance within the limit.
        best = process.extractOne(core.lower(), self._words, scorer=Levenshtein.distance, score_cutoff=limit)
        if best is None:
            return token
        return head + _match_case(best[0], core) + tail

    def correct(self, text: str) -> str:
        """Correct each whitespace-separated token of `text`; spacing is normalised to one space."""
        return " ".join(self.correct_word(token) for token in text.split())


def labels_to_text(labels: Sequence[int], vocabulary: str, *, blank_index: int) -> str:
    """Map class indices back to characters (index `blank_index` is not a character)."""
    return "".join(vocabulary[i - 1 if i > blank_index else i] for i in labels if i != blank_index)
