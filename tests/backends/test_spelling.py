"""Spelling correction of recognized words: the lexicon tiers, the CTC scoring of candidates."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from indexer.backends.htr.ctc_decode import CtcWordScorer, best_path, ctc_log_likelihood
from indexer.backends.htr.spelling import Lexicon, SpellingCorrector, is_english

# Classes: 0 blank, then one per character.
VOCABULARY = " adehnrDEHNR"


def _never_known(word: str) -> bool:
    return False


@pytest.mark.parametrize(
    "text", ["2/23/12", "20852", "$40,900.00", "96001-2847", "#250,", "3408 33", "MAR. 15, 2011"]
)
def test_numbers_dates_and_amounts_are_left_alone(text: str) -> None:
    corrector = SpellingCorrector(["March", "Member", "Suite", "Street"], is_known=_never_known)
    assert corrector.correct(text) == text


def test_near_misses_are_fixed_and_keep_their_case() -> None:
    corrector = SpellingCorrector(["member", "contracting", "officer", "honolulu"], is_known=_never_known)
    assert corrector.correct("MEMRER") == "MEMBER"
    assert corrector.correct("Lease Contractinq Officer,") == "Lease Contracting Officer,"
    assert corrector.correct("Hono1ulu") == "Hono1ulu"  # holds a digit: not a word
    assert corrector.correct("Qzxy") == "Qzxy"  # nothing close


def test_a_real_word_is_only_corrected_to_a_contract_word() -> None:
    """GIVEN `staff` as an English word and `suite` as a contract word
    WHEN a reading is itself a (rare) word THEN only the contract word may replace it."""
    lexicon = Lexicon(contract={"suite": 4.0}, english={"staff": 5.0, "delaware": 4.0})
    corrector = SpellingCorrector(lexicon, is_known=lambda word: word in {"taff", "sute"})
    assert corrector.correct("Larry Taff") == "Larry Taff"
    assert corrector.correct("Sute 250") == "Suite 250"
    assert corrector.correct("a Delawarc corporation") == "a Delaware corporation"  # not a word


def test_wordfreq_knows_rare_surnames_but_not_misreadings() -> None:
    assert is_english("taff") and is_english("delaware")
    assert not is_english("delawarc") and not is_english("jnestment")


def test_without_a_scorer_the_more_frequent_candidate_wins() -> None:
    lexicon = Lexicon(contract={}, english={"hand": 5.5, "herd": 3.5})
    assert SpellingCorrector(lexicon, is_known=_never_known).correct("hend") == "hand"


def _hend_matrix() -> np.ndarray:
    """Best path reads `HEnd`; the model's second choices spell `hand` (weaker) and `herd`."""
    classes = len(VOCABULARY) + 1
    rows = []
    for choices in ({"H": 0.9}, {"E": 0.6, "a": 0.35}, {"n": 0.55, "r": 0.4}, {"d": 0.9}):
        row = np.full(classes, 1e-3)
        for char, p in choices.items():
            row[VOCABULARY.index(char) + 1] = p
        rows += [row, np.eye(classes)[0] * 0.99 + 1e-3]  # each letter followed by a blank
    return np.array(rows, np.float32)


def test_the_scorer_prefers_the_spelling_the_model_saw() -> None:
    """GIVEN `hand` and `herd` equally frequent, one edit from the reading `HEnd`
    WHEN the model's own output is consulted THEN `herd` (0.6 x 0.4) beats `hand` (0.35 x 0.55),
    case folded (`E` counts for `e`); without it, the tie goes to the alphabetically first."""
    probabilities = _hend_matrix()
    decoded = best_path(probabilities, blank_index=0)
    scorer = CtcWordScorer(probabilities, decoded, VOCABULARY, blank_index=0)
    corrector = SpellingCorrector(Lexicon({}, {"hand": 4.0, "herd": 4.0}), is_known=_never_known)
    assert corrector.correct("HEnd", scorer) == "Herd"
    assert corrector.correct("HEnd") == "Hand"
    assert scorer(0, "herd") > scorer(0, "hand") > scorer(0, "hxnd")


def test_each_word_is_scored_on_its_own_steps() -> None:
    probabilities = np.concatenate([_hend_matrix(), _one_hot(" "), _hend_matrix()])
    decoded = best_path(probabilities, blank_index=0)
    scorer = CtcWordScorer(probabilities, decoded, VOCABULARY, blank_index=0)
    assert scorer.windows == [(0, 8), (9, 17)]
    assert scorer(1, "herd") == pytest.approx(scorer(0, "herd"))


def _one_hot(char: str) -> np.ndarray:
    row = np.full((1, len(VOCABULARY) + 1), 1e-4, np.float32)
    row[0, VOCABULARY.index(char) + 1] = 1.0
    return row


@pytest.mark.parametrize("labels", [[1], [1, 1], [1, 2], [2, 1, 2]])
def test_ctc_likelihood_matches_the_sum_over_all_alignments(labels: list[int]) -> None:
    rng = np.random.default_rng(len(labels))
    probabilities = rng.dirichlet(np.ones(3), size=5)
    total = 0.0
    for path in itertools.product(range(3), repeat=5):
        collapsed = [k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k)]
        if collapsed == labels:
            total += math.prod(probabilities[t, k] for t, k in enumerate(path))
    assert ctc_log_likelihood(np.log(probabilities), labels, blank_index=0) == pytest.approx(math.log(total))


def test_lexicon_round_trips_and_reads_word_per_line_files(tmp_path: Path) -> None:
    lexicon = Lexicon(contract={"kalakaua": 4.0}, english={"staff": 4.61})
    lexicon.save(tmp_path / "lexicon.txt")
    assert Lexicon.load(tmp_path / "lexicon.txt") == lexicon
    (tmp_path / "old.txt").write_text("member\nsuite\n", encoding="utf-8")
    old = Lexicon.load(tmp_path / "old.txt")
    assert set(old.contract) == {"member", "suite"} and not old.english
