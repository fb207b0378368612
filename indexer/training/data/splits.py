"""Split labelled pages by document, the same way for every model we train.

A document is the file stem before the last `-N` (`<document>-<page>.jpg`). Pages of one
document never straddle a split. By default the detector and the recognizer hold out the same
fixed validation documents, so neither is evaluated on pages the other trained on.

The detector can also hold out one fold of a cross-validation over every document (`HoldOut`
"I/K"), or nothing ("none"). The shipped detector holds out nothing; its recipe is measured by
its three fold models (models/detector/MODEL_CARD.md).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from indexer.errors import InputError
from indexer.model_dirs.split import document_of

__all__ = [
    "VALIDATION_HOLD_OUT",
    "VALIDATION_SHARE",
    "HoldOut",
    "cross_validation_folds",
    "document_of",
    "is_validation_document",
    "split_by_document",
]

#: Share of documents held out for validation.
VALIDATION_SHARE = 0.2
_SPLIT_SALT = "contract-indexer-split-v1"
_HASH_SPACE = 2**32


def _document_hash(document: str) -> int:
    digest = hashlib.sha256(f"{_SPLIT_SALT}:{document}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def is_validation_document(document: str, *, share: float = VALIDATION_SHARE) -> bool:
    """A stable, seed-free choice: the same document is always on the same side."""
    return _document_hash(document) < share * _HASH_SPACE


def cross_validation_folds(names: Iterable[str], folds: int) -> list[set[str]]:
    """The documents of each of `folds` folds, balanced by page count; seed-free and stable.

    Documents go, largest first (ties in hash order), to the fold with the fewest pages so far,
    so no fold is left with a handful of pages when a few documents are long.
    """
    if folds < 2:
        raise InputError(f"cross-validation needs at least 2 folds, not {folds}")
    pages = Counter(document_of(name) for name in names)
    if len(pages) < folds:
        raise InputError(f"{folds} folds need at least {folds} documents; the data has {len(pages)}")
    members: list[set[str]] = [set() for _ in range(folds)]
    sizes = [0] * folds
    for document in sorted(pages, key=lambda doc: (-pages[doc], _document_hash(doc))):
        smallest = min(range(folds), key=lambda fold: (sizes[fold], len(members[fold]), fold))
        members[smallest].add(document)
        sizes[smallest] += pages[document]
    return members


@dataclass(frozen=True, slots=True)
class HoldOut:
    """Which documents a model never trains on.

    `validation`: the fixed validation documents (`is_validation_document`); `I/K`: fold I (from 1)
    of K cross-validation folds over the documents given; `none`: no document.
    """

    fold: int = 0
    folds: int = 0
    is_none: bool = False

    @classmethod
    def parse(cls, text: str) -> HoldOut:
        """`validation`, `none` or `I/K`.

        Raises:
            InputError: anything else, or a fold outside 1..K.
        """
        if text == "validation":
            return cls()
        if text == "none":
            return cls(is_none=True)
        fold_text, slash, folds_text = text.partition("/")
        if not (slash and fold_text.isdigit() and folds_text.isdigit()):
            raise InputError(f"hold-out must be 'validation', 'none' or 'I/K' (e.g. 1/3), not {text!r}")
        fold, folds = int(fold_text), int(folds_text)
        if folds < 2 or not 1 <= fold <= folds:
            raise InputError(f"hold-out {text!r}: the fold must lie in 1..K and K must be at least 2")
        return cls(fold=fold, folds=folds)

    def __str__(self) -> str:
        if self.is_none:
            return "none"
        return f"{self.fold}/{self.folds}" if self.folds else "validation"

    def documents(self, names: Iterable[str]) -> set[str]:
        """The held-out documents among the documents of `names` (page names or stems)."""
        names = list(names)
        if self.is_none:
            return set()
        if self.folds:
            return cross_validation_folds(names, self.folds)[self.fold - 1]
        return {document_of(name) for name in names if is_validation_document(document_of(name))}


#: The default: hold out the fixed validation documents.
VALIDATION_HOLD_OUT = HoldOut()


def split_by_document(
    names: Iterable[str], *, hold_out: HoldOut | None = None
) -> tuple[list[str], list[str]]:
    """(train, held-out) names, split by document; by default the held-out side is validation."""
    names = list(names)
    held_out = (hold_out or VALIDATION_HOLD_OUT).documents(names)
    train = [name for name in names if document_of(name) not in held_out]
    return train, [name for name in names if document_of(name) in held_out]
