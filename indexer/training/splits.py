"""Split labelled pages by document, the same way for every model we train.

A document is the file stem before the last `-N` (`<document>-<page>.jpg`). Pages of one
document never straddle the split, and the detector and the recognizer hold out the same
documents, so neither model is evaluated on pages the other trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["VALIDATION_SHARE", "document_of", "is_validation_document", "split_by_document"]

#: Share of documents held out for validation.
VALIDATION_SHARE = 0.2
_SPLIT_SALT = "contract-indexer-split-v1"
_HASH_SPACE = 2**32


def document_of(stem_or_name: str) -> str:
    """`abc-def-3.jpg` -> `abc-def`: the stem before the last `-N`."""
    stem = stem_or_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    head, sep, tail = stem.rpartition("-")
    return head if sep and tail.isdigit() else stem


def is_validation_document(document: str, *, share: float = VALIDATION_SHARE) -> bool:
    """A stable, seed-free choice: the same document is always on the same side."""
    digest = hashlib.sha256(f"{_SPLIT_SALT}:{document}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < share * _HASH_SPACE


def split_by_document(
    names: Iterable[str], *, share: float = VALIDATION_SHARE
) -> tuple[list[str], list[str]]:
    """(train, validation) names, split by document."""
    train: list[str] = []
    validation: list[str] = []
    for name in names:
        (validation if is_validation_document(document_of(name), share=share) else train).append(name)
    return train, validation
