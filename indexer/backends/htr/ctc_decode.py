"""CTC decoding (best path, prefix beam search) and the scoring of other spellings of a word.

Probability matrices are (time, classes) softmax outputs; `blank_index` is the CTC blank.
"""

from __future__ import annotations

import functools
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CtcWordScorer",
    "Decoded",
    "best_path",
    "ctc_log_likelihood",
    "labels_to_text",
    "log_add",
    "prefix_beam_search",
]

log = logging.getLogger(__name__)

_PROBABILITY_FLOOR = 1e-12


@dataclass(frozen=True, slots=True)
class Decoded:
    """Class indices of the decoded label (blank removed) and its confidence in [0, 1]."""

    labels: tuple[int, ...]
    confidence: float
    #: The time step each label starts at (best path only; empty from beam search).
    steps: tuple[int, ...] = ()


def best_path(probabilities: np.ndarray, *, blank_index: int) -> Decoded:
    """Greedy decoding: the most likely class per step, repeats collapsed, blanks removed.

    The confidence is the geometric mean of the per-step maxima, so it does not shrink with
    the crop's width.
    """
    if probabilities.shape[0] == 0:
        return Decoded((), 0.0)
    best = probabilities.argmax(axis=1)
    labels: list[int] = []
    steps: list[int] = []
    previous = -1
    for step, index in enumerate(best.tolist()):
        if index != previous and index != blank_index:
            labels.append(index)
            steps.append(step)
        previous = index
    maxima = np.maximum(probabilities.max(axis=1), _PROBABILITY_FLOOR)
    confidence = float(np.exp(np.log(maxima).mean()))
    return Decoded(tuple(labels), min(max(confidence, 0.0), 1.0), tuple(steps))


def log_add(a: float, b: float) -> float:
    """log(exp(a) + exp(b)) without leaving log space."""
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
            p_total = log_add(p_blank, p_label)
            for index in candidates.tolist():
                p = float(log_probs[t, index])
                if index == blank_index:
                    entry = following[prefix]
                    entry[0] = log_add(entry[0], p_total + p)
                    continue
                extended = (*prefix, index)
                entry = following[extended]
                if prefix and prefix[-1] == index:
                    # A repeat only extends after a blank; otherwise it collapses into the prefix.
                    entry[1] = log_add(entry[1], p_blank + p)
                    same = following[prefix]
                    same[1] = log_add(same[1], p_label + p)
                else:
                    entry[1] = log_add(entry[1], p_total + p)
        ranked = sorted(following.items(), key=lambda item: log_add(*item[1]), reverse=True)
        beams = {prefix: (scores[0], scores[1]) for prefix, scores in ranked[:beam_width]}
    prefix, (p_blank, p_label) = max(beams.items(), key=lambda item: log_add(*item[1]))
    confidence = math.exp(log_add(p_blank, p_label) / steps)
    return Decoded(prefix, min(max(confidence, 0.0), 1.0))


def labels_to_text(labels: Sequence[int], vocabulary: str, *, blank_index: int) -> str:
    """Map class indices back to characters (index `blank_index` is not a character)."""
    return "".join(vocabulary[i - 1 if i > blank_index else i] for i in labels if i != blank_index)


class CtcWordScorer:
    """Log-likelihoods of other spellings of the words of a best-path reading.

    Each word owns the time steps between the space labels around it, so a spelling is scored
    by the CTC forward algorithm on those steps only (a few dozen, not the whole line). Upper
    and lower case share their probability: `Waterfront` scores as well as `WATERFRONT`.

    Args:
        probabilities: (time, classes) softmax output.
        decoded: its best-path decoding (with `steps`).
        vocabulary: the characters of classes 1.. (class `blank_index` is the blank).
    """

    def __init__(
        self, probabilities: np.ndarray, decoded: Decoded, vocabulary: str, *, blank_index: int
    ) -> None:
        self._probabilities = probabilities
        self._class_of, self._folded_index, self._to_folded = _case_folding(
            vocabulary, blank_index, probabilities.shape[1]
        )
        self._blank = blank_index
        self._windows = _word_windows(decoded, probabilities.argmax(axis=1), self._class_of.get(" "))

    @functools.cached_property
    def _log_probs(self) -> np.ndarray:
        # Folded only when a word is scored: most lines need no correction.
        folded = self._probabilities @ self._to_folded.astype(self._probabilities.dtype)
        log_probs: np.ndarray = np.log(np.maximum(folded, _PROBABILITY_FLOOR))
        return log_probs

    @property
    def windows(self) -> list[tuple[int, int]]:
        """Each word's time steps as (start, end), end exclusive."""
        return self._windows

    def __call__(self, word_index: int, spelling: str) -> float:
        """log P(spelling | the word's steps); -inf for a character outside the vocabulary."""
        try:
            labels = [self._folded_index[self._class_of[char]] for char in spelling]
        except KeyError:
            return -math.inf
        start, end = self._windows[word_index]
        return ctc_log_likelihood(self._log_probs[start:end], labels, blank_index=self._blank)


@functools.cache
def _case_folding(
    vocabulary: str, blank_index: int, classes: int
) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """(class of each character, class each class folds into, the (classes, classes) folding matrix).

    An upper-case letter folds into its lower-case class; everything else stays itself. The
    same for every line of a model, so it is built once per vocabulary.
    """
    class_of = {
        vocabulary[index - 1 if index > blank_index else index]: index
        for index in range(classes)
        if index != blank_index
    }
    folded = np.arange(classes)
    for char, index in class_of.items():
        if char.lower() != char and char.lower() in class_of:
            folded[index] = class_of[char.lower()]
    to_folded = np.zeros((classes, classes), np.float32)
    to_folded[np.arange(classes), folded] = 1.0
    return class_of, folded, to_folded


def _word_windows(decoded: Decoded, best: np.ndarray, space: int | None) -> list[tuple[int, int]]:
    """(start, end) steps of each space-separated word of a best-path decoding."""
    words: list[tuple[int, int]] = []  # steps of each word's first and last label
    current: list[int] = []
    for label, step in zip(decoded.labels, decoded.steps, strict=True):
        if label == space:
            if current:
                words.append((current[0], current[-1]))
            current = []
        else:
            current.append(step)
    if current:
        words.append((current[0], current[-1]))
    spaces = np.flatnonzero(best == space) if space is not None else np.zeros(0, np.int64)
    windows = []
    for first, last in words:
        before = spaces[spaces < first]
        after = spaces[spaces > last]
        windows.append(
            (int(before[-1]) + 1 if before.size else 0, int(after[0]) if after.size else len(best))
        )
    return windows


def ctc_log_likelihood(log_probs: np.ndarray, labels: Sequence[int], *, blank_index: int) -> float:
    """log P(labels) under CTC over (time, classes) log-probabilities (the forward algorithm)."""
    steps = log_probs.shape[0]
    extended = np.full(2 * len(labels) + 1, blank_index)
    extended[1::2] = labels
    states = len(extended)
    if steps == 0 or steps < len(labels):
        return -math.inf
    # A label may follow the one two states back (skipping the blank) unless they are equal.
    can_skip = np.zeros(states, bool)
    can_skip[2:] = (extended[2:] != blank_index) & (extended[2:] != extended[:-2])
    emissions = log_probs[:, extended]
    alpha = np.full(states, -np.inf)
    alpha[:2] = emissions[0, :2]
    for t in range(1, steps):
        shifted = np.concatenate(([-np.inf], alpha[:-1]))
        skipped = np.where(can_skip, np.concatenate(([-np.inf, -np.inf], alpha[:-2])), -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, shifted), skipped) + emissions[t]
    return float(np.logaddexp(alpha[-1], alpha[-2])) if states > 1 else float(alpha[-1])
