"""The IAM handwriting database's word layout, as the second seed (SimpleHTR) reads it.

`DIR/words.txt` lists one word per line (`a01-000u-00-00 ok 154 408 768 27 51 AT A`: id,
segmentation result, grey level, box, tag, transcription); the image is
`DIR/words/a01/a01-000u/a01-000u-00-00.png`. Lines starting with `#` are comments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import InputError

__all__ = ["IAM_TRAIN_SHARE", "IamWord", "read_iam_words", "split_iam"]

log = logging.getLogger(__name__)

#: The seed's split: the first 95% of the words train, the last 5% validate.
IAM_TRAIN_SHARE = 0.95
# Two IAM word images are known to be broken (SimpleHTR skips them too).
_BROKEN_IMAGES = frozenset({"a01-117-05-02", "r06-022-03-05"})
_MIN_FIELDS = 9


@dataclass(frozen=True, slots=True)
class IamWord:
    """One IAM word image and its transcription."""

    path: Path
    text: str


def _image_path(root: Path, word_id: str) -> Path:
    form_parts = word_id.split("-")
    return root / "words" / form_parts[0] / f"{form_parts[0]}-{form_parts[1]}" / f"{word_id}.png"


def read_iam_words(root: Path, *, max_chars: int = 32) -> list[IamWord]:
    """Every usable word of an IAM layout under `root`, in file order.

    Words whose image is missing or empty, and the known broken ones, are skipped.

    Raises:
        InputError: `root/words.txt` is missing or has a malformed line.
    """
    listing = root / "words.txt"
    if not listing.is_file():
        raise InputError(f"{listing} does not exist; --iam wants the folder holding words.txt and words/")
    words: list[IamWord] = []
    skipped = 0
    for number, line in enumerate(listing.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split(" ")
        if len(fields) < _MIN_FIELDS:
            raise InputError(f"{listing}:{number}: expected {_MIN_FIELDS} fields, got {len(fields)}")
        word_id, text = fields[0], " ".join(fields[8:])
        path = _image_path(root, word_id)
        if (
            word_id in _BROKEN_IMAGES
            or not path.is_file()
            or path.stat().st_size == 0
            or len(text) > max_chars
        ):
            skipped += 1
            continue
        words.append(IamWord(path, text))
    log.info("IAM: %d words read from %s, %d skipped", len(words), root, skipped)
    return words


def split_iam(
    words: list[IamWord], *, train_share: float = IAM_TRAIN_SHARE
) -> tuple[list[IamWord], list[IamWord]]:
    """(train, validation): the seed's ordered 95/5 split."""
    cut = int(len(words) * train_share)
    return words[:cut], words[cut:]
