"""The `htr` model's lexicon: contract vocabulary and labelled training words, plus common English.

Written beside the weights by `indexer train-htr`, or rebuilt for a trained model by
`indexer htr-lexicon`; read by `indexer.backends.htr.spelling`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from indexer.backends.htr.spelling import CONTRACT_MIN_ZIPF, Lexicon
from indexer.training.htr.text import english_words, lexicon_words
from indexer.training.htr.transcriptions import load_transcriptions

__all__ = ["build_lexicon", "training_words"]

log = logging.getLogger(__name__)

_PUNCTUATION = ".,;:'\"()#&"


def build_lexicon(extra_words: Iterable[str] = ()) -> Lexicon:
    """Contract words (the synthetic text's vocabulary and `extra_words`) and common English words.

    A contract word is at least `CONTRACT_MIN_ZIPF` frequent, so a rare surname of the
    vocabulary still wins over an English word at the same distance.
    """
    import wordfreq

    contract: dict[str, float] = {}
    for word in [*lexicon_words(), *extra_words]:
        core = word.strip(_PUNCTUATION).lower()
        if core.isalpha():
            contract[core] = max(CONTRACT_MIN_ZIPF, wordfreq.zipf_frequency(core, "en"))
    english = {word: wordfreq.zipf_frequency(word, "en") for word in english_words()}
    log.info("lexicon: %d contract words, %d English words", len(contract), len(english))
    return Lexicon(contract, english)


def training_words(transcriptions: Path) -> list[str]:
    """The words of the legible labelled crops of the training documents (never validation)."""
    return [
        word
        for crop in load_transcriptions(transcriptions)
        if not crop.is_validation
        for word in crop.text.split()
    ]
