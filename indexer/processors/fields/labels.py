"""Where a handwriting box's printed label is, and what field type its words name.

A form names each blank with printed words: on the blank's line to its left (`Date: ____`), or
in its cell above or below it (`[TITLE]` under the line, `16a. NAME OF CONTRACTING OFFICER`
over the box). The label is found among the page OCR's words (the masked page: the box itself is
blank there), measured in box heights so that it works at any resolution.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace

from indexer.document import Box, FieldType, Label, Word
from indexer.processors.anchor import BASELINE_SHARE, TOKEN_PATTERN

__all__ = [
    "CLOSING_BRACKETS",
    "OPENING_BRACKETS",
    "ROW_SIDE",
    "RULE_SIDE",
    "cell_heading",
    "classify",
    "find_label",
    "is_label_word",
    "label_word_type",
    "on_line_of",
    "printed_words",
    "rule_caption",
]

#: `Label.side` of a block row's label (`split_blocks` cuts a box a row and gives each its row's).
ROW_SIDE = "row"
#: `Label.side` of the bracketed caption printed under the rule the box is written on.
RULE_SIDE = "rule"
#: Such a caption starts at most this many pixels above the rule's bottom (scanned rules are
#: uneven); words higher up are the rule itself read as text (`eee`) or writing on it.
_RULE_CAPTION_SLACK_PX = 2
#: How far left of the box a label may start, in box heights, and the largest gap between two of
#: its words, in word heights.
_LEFT_REACH_HEIGHTS = 6.0
_WORD_GAP_HEIGHTS = 1.5
_LEFT_MAX_WORDS = 5
#: A label word may reach this far into the box (boxes are drawn loosely), in box heights.
_OVERLAP_HEIGHTS = 0.3
#: How far below / above the box a caption may be, in box heights.
_BELOW_REACH_HEIGHTS = 1.2
_ABOVE_REACH_HEIGHTS = 1.0
#: A word is on the box's line when this share of its height is within the box's rows.
_SAME_LINE_SHARE = 0.5
_MIN_WORD_CONFIDENCE = 0.3

# The words that name each type. A label names the type of the keyword nearest to the box.
_KEYWORDS: dict[str, FieldType] = {
    **dict.fromkeys(("signature", "signatures", "signed", "initial", "initials"), FieldType.SIGNATURE),
    **dict.fromkeys(("date", "dated", "dates"), FieldType.DATE),
    **dict.fromkeys(("name", "names", "print", "printed"), FieldType.NAME),
    **dict.fromkeys(("title", "titles", "position", "capacity"), FieldType.TITLE),
    **dict.fromkeys(("address", "addresses", "street", "city"), FieldType.ADDRESS),
    **dict.fromkeys(("$", "amount", "rent", "price", "sum", "deposit", "fee", "dollars"), FieldType.AMOUNT),
    **dict.fromkeys(("zip", "postal"), FieldType.ZIP),
    **dict.fromkeys(("phone", "telephone", "tel", "fax"), FieldType.PHONE),
}
#: Words that name a type only as a label of their own (`By:`, `Its:`), never in running text.
_LABEL_ONLY = {"by": FieldType.SIGNATURE, "its": FieldType.TITLE}
#: Keywords that OCR misreads by one letter (`Namo:`) or drops one of (`Dae:`) are still found
#: when the word ends with `:`; the keyword has at least this many letters, so `By:` stays exact.
_FUZZY_MIN_LENGTH = 4
#: Left of a box, only the last words name it: `DATE OF LEASE:`, not `as of the date first above written`.
_LEFT_KEYWORD_WORDS = 3
#: A blank in running text (`made by and ____`) follows a function word; its sentence names nothing.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "is",
        "of",
        "on",
        "or",
        "said",
        "shall",
        "that",
        "the",
        "this",
        "to",
        "with",
    ]
)
#: Longest stray mark (`1`, `|`, `-`) dropped from a left label's end.
_NOISE_MAX_LENGTH = 2
#: Captions above or below a box are short (`[TITLE]`, `Signature of Owner or Authorized Agent`).
_CAPTION_MAX_WORDS = 8
_WORD_EDGES = "()[]{}.,;:!?\"'“”‘’_-"
#: The brackets printed captions and instructions open and close with (`(Title)`, `[NAME]`).
OPENING_BRACKETS = ("(", "[", "{")
CLOSING_BRACKETS = (")", "]", "}")
#: What the OCR reads a cell border crossing a line as; a line's words past the n-th border get
#: line number `line * _CELLS_PER_LINE + n`.
_BORDER_TEXT = "|"
_CELLS_PER_LINE = 1000


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    shorter, longer = sorted((a, b), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _word_type(word: str) -> FieldType | None:
    """The type a single label word names (`Date:`, `[TITLE]`, `Namo:`), or None."""
    lowered = word.lower()
    bare = lowered.strip(_WORD_EDGES)
    if "$" in lowered:
        return FieldType.AMOUNT
    if bare in _KEYWORDS:
        return _KEYWORDS[bare]
    if lowered.endswith(":") and bare in _LABEL_ONLY:
        return _LABEL_ONLY[bare]
    if lowered.endswith(":") and len(bare) >= _FUZZY_MIN_LENGTH - 1:
        return next(
            (
                kind
                for key, kind in _KEYWORDS.items()
                if len(key) >= _FUZZY_MIN_LENGTH and _one_edit_apart(bare, key)
            ),
            None,
        )
    return None


def is_label_word(word: str) -> bool:
    """Whether the word names a field type (`Date`, `TITLE`, `Signature`, `By:`)."""
    return _word_type(word) is not None


def label_word_type(word: str) -> FieldType | None:
    """The field type one label word names (`Date:`, `[TITLE]`, `Namo:`, `By:`), or None."""
    return _word_type(word)


def classify(text: str, *, nearest_last: bool) -> FieldType | None:
    """The field type a label's words name, or None when they name none.

    Args:
        nearest_last: the label is left of the box: only its last words count, its last keyword
            is the nearest one, and running text ending in a function word names nothing.
            Otherwise (a caption above or below) a short caption's first keyword counts.
    """
    words = text.split()
    if not words:
        return None
    if nearest_last:
        # OCR often reads a stray mark between a label and its blank (`Number Date: 1`).
        while (
            len(words) > 1
            and len(words[-1].strip(_WORD_EDGES)) <= _NOISE_MAX_LENGTH
            and not words[-1].isalpha()
        ):
            words = words[:-1]
        last = words[-1].lower()
        if last.strip(_WORD_EDGES) in _FUNCTION_WORDS and not last.endswith(":"):
            return None
        # Running text names nothing unless its very last word does (`... the Lessor Date`); a
        # label that ends with a colon may hold its keyword a few words earlier (`DATE OF LEASE:`).
        words = words[-_LEFT_KEYWORD_WORDS:] if last.endswith(":") else words[-1:]
    elif len(words) > _CAPTION_MAX_WORDS or any(word.endswith(":") for word in words):
        # A caption line with `Title:` in it is the left label of a field of its own.
        return None
    elif len(words) == 1 and words[0].lower().strip(_WORD_EDGES) in _LABEL_ONLY:
        return _LABEL_ONLY[words[0].lower().strip(_WORD_EDGES)]
    kinds = [kind for kind in map(_word_type, words) if kind is not None]
    if not kinds:
        return None
    return kinds[-1] if nearest_last else kinds[0]


def _is_print(word: Word, blanked: Sequence[Box]) -> bool:
    """A printed word of the page: no anchor token, no noise inside a blanked box."""
    if word.confidence < _MIN_WORD_CONFIDENCE or TOKEN_PATTERN.search(word.text):
        return False
    if not any(ch.isalnum() or ch == "$" for ch in word.text):
        return False
    return not any(word.box.intersection(area) > 0.5 * word.box.area for area in blanked)


def on_line_of(word: Word, box: Box) -> bool:
    """Whether most of the word's height lies within the box's rows (it is on the box's line)."""
    return word.box.shared_rows(box) >= _SAME_LINE_SHARE * word.box.height


def _left_words(words: Sequence[Word], box: Box) -> list[Word]:
    """The run of words just left of the box on its line, nearest last."""
    slack = _OVERLAP_HEIGHTS * box.height
    beside = sorted(
        (
            word
            for word in words
            if on_line_of(word, box)
            and word.box.x1 <= box.x0 + slack
            and box.x0 - word.box.x1 <= _LEFT_REACH_HEIGHTS * box.height
        ),
        key=lambda word: word.box.x1,
    )
    if not beside:
        return []
    # A box beside several printed lines (a signature rising over the line above its own) belongs
    # to the line its writing sits on: the one whose baseline is nearest the box's (where the
    # anchor token goes too); between equals, the line that comes nearest the box.
    lines: dict[tuple[int, int], list[Word]] = {}
    for word in beside:
        lines.setdefault((word.block, word.line), []).append(word)
    baseline = box.y1 - BASELINE_SHARE * box.height
    beside = min(
        lines.values(),
        key=lambda line: (abs(statistics.median(word.box.y1 for word in line) - baseline), -line[-1].box.x1),
    )
    run: list[Word] = []
    for word in reversed(beside):
        edge = run[0].box.x0 if run else None
        if edge is not None and edge - word.box.x1 > _WORD_GAP_HEIGHTS * word.box.height:
            break
        if edge is None and box.x0 - word.box.x1 > _LEFT_REACH_HEIGHTS * box.height:
            break
        run.insert(0, word)
        if len(run) == _LEFT_MAX_WORDS:
            break
    return run


def _first_line(words: list[Word], printed: Sequence[Word], *, cell_caption: bool = False) -> list[Word]:
    """The words of the OCR line nearest to the box among `words` (sorted nearest first); none
    when that line is running text (more words than a caption has), not a caption.

    With `cell_caption` (a caption over the box, at the top of its form cell), bracketed
    instructions after the caption's words are left out before the words are counted.
    """
    if not words:
        return []
    nearest = words[0]
    line = sorted(
        (word for word in printed if (word.block, word.line) == (nearest.block, nearest.line)),
        key=lambda word: word.box.x0,
    )
    # A form cell's caption often goes on with instructions in brackets (`9a. NAME AND ADDRESS
    # OF OWNER (Include ZIP code) (If requested ...)`): the words before them are the caption.
    # Under a box such a line is the next cell's caption, not this box's.
    bracket = next((index for index, word in enumerate(line) if word.text.startswith(OPENING_BRACKETS)), None)
    if cell_caption and bracket and len(line) > _CAPTION_MAX_WORDS:
        line = line[:bracket]
    if len(line) > _CAPTION_MAX_WORDS:
        return []
    return [word for word in line if word in words]


def _overlaps_columns(word: Word, box: Box) -> bool:
    margin = _OVERLAP_HEIGHTS * box.height
    x = word.box.center[0]
    return box.x0 - margin <= x <= box.x1 + margin


def _between(word: Word, box: Box, others: Sequence[Box]) -> bool:
    """Whether another box lies between the word and `box` in the column they share: a caption
    beyond a stacked box (`11a. NAME ...` over a printed name, over a signature) is that box's."""
    x0, x1 = max(word.box.x0, box.x0), min(word.box.x1, box.x1)
    top, bottom = (word.box.y1, box.y0) if word.box.y1 <= box.y0 else (box.y1, word.box.y0)
    return any(other.x0 < x1 and x0 < other.x1 and top <= other.center[1] <= bottom for other in others)


def _below_words(words: Sequence[Word], box: Box, others: Sequence[Box] = ()) -> list[Word]:
    candidates = [
        word
        for word in words
        if _overlaps_columns(word, box)
        and word.box.center[1] >= box.y1 - _OVERLAP_HEIGHTS * box.height
        and word.box.y0 - box.y1 <= _BELOW_REACH_HEIGHTS * box.height
        and not _between(word, box, others)
    ]
    return _first_line(sorted(candidates, key=lambda word: word.box.y0), words)


def _above_words(words: Sequence[Word], box: Box, others: Sequence[Box] = ()) -> list[Word]:
    candidates = [
        word
        for word in words
        if _overlaps_columns(word, box)
        and word.box.center[1] <= box.y0 + _OVERLAP_HEIGHTS * box.height
        and box.y0 - word.box.y1 <= _ABOVE_REACH_HEIGHTS * box.height
        and not _between(word, box, others)
    ]
    return _first_line(sorted(candidates, key=lambda word: -word.box.y1), words, cell_caption=True)


def _as_label(words: list[Word], side: str) -> Label:
    height = round(statistics.median(word.box.height for word in words))
    return Label(
        " ".join(word.text for word in words), Box.enclosing(word.box for word in words), side, height
    )


def printed_words(words: Sequence[Word], blanked: Sequence[Box]) -> list[Word]:
    """The page OCR's words that may be labels: print, not anchor tokens or noise in blanked boxes.

    The OCR often reads the captions of side-by-side form cells as one line (`3a. NAME OF
    CONTRACTING OFFICER (Type or Print) | 3c. DATE`), which then counts as running text; the
    cell border it reads as `|` parts them, so each word's line is numbered per cell.
    """
    borders: dict[tuple[int, int], list[float]] = {}
    for word in words:
        if word.text.strip() == _BORDER_TEXT:
            borders.setdefault((word.block, word.line), []).append(word.box.center[0])
    printed = []
    for word in words:
        if not _is_print(word, blanked):
            continue
        cell = sum(x < word.box.center[0] for x in borders.get((word.block, word.line), ()))
        printed.append(replace(word, line=word.line * _CELLS_PER_LINE + cell) if cell else word)
    return printed


def find_label(
    printed: Sequence[Word], box: Box, others: Sequence[Box] = ()
) -> tuple[Label | None, FieldType | None]:
    """The printed label of the handwriting in `box`, and the field type it names.

    `printed` is the page's `printed_words`; `others` the page's other handwriting boxes, whose
    captions above or below are theirs. The sides are tried in order left, below, above; the
    first whose words name a type wins. When none does, the words left of the box are kept as the
    label (with no type), else none.
    """
    found: list[Label] = []
    for side, chosen in (
        ("left", _left_words(printed, box)),
        ("below", _below_words(printed, box, others)),
        ("above", _above_words(printed, box, others)),
    ):
        if not chosen:
            continue
        label = _as_label(chosen, side)
        kind = classify(label.text, nearest_last=side == "left")
        if kind is not None:
            return label, kind
        found.append(label)
    left = next((label for label in found if label.side == "left"), None)
    return left, None


def rule_caption(
    printed: Sequence[Word], box: Box, rule: Box, others: Sequence[Box] = ()
) -> tuple[Label, FieldType] | None:
    """The caption printed under the rule the box is written on (`(Title)` under a title's blank)
    and the type it names, or None.

    Only a short bracketed line right under the rule, within its columns, counts: forms print a
    blank's caption that way, and it belongs to that blank even when it starts left of the
    writing, where the column test of `find_label` misses it.
    """
    candidates = [
        word
        for word in printed
        if rule.x0 <= word.box.center[0] <= rule.x1
        and word.box.y0 >= rule.y1 - _RULE_CAPTION_SLACK_PX
        and word.box.y0 - rule.y0 <= _BELOW_REACH_HEIGHTS * box.height
        and not _between(word, box, others)
    ]
    words = _first_line(sorted(candidates, key=lambda word: word.box.y0), printed)
    if not words or not words[0].text.startswith(OPENING_BRACKETS):
        return None
    label = _as_label(words, RULE_SIDE)
    kind = classify(label.text, nearest_last=False)
    return (label, kind) if kind is not None else None


def cell_heading(printed: Sequence[Word], box: Box, others: Sequence[Box] = ()) -> Label | None:
    """The caption at the top of the box's form cell when it names no field type (`a. FLOOR(S)`,
    `b. ROOM NUMBER(S)`), or None: what `find_label` looks for above a box, kept untyped."""
    words = _above_words(printed, box, others)
    if not words:
        return None
    label = _as_label(words, "above")
    return label if classify(label.text, nearest_last=False) is None else None
