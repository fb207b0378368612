"""The typed document model that moves through the pipeline: plain data, no I/O.

Coordinates everywhere are rendered-page pixels with the origin at the top left; the page's
`dpi` says at which resolution the page was rendered. Everything round-trips through
`to_dict()` / `from_dict()` so a page can be stored as an artifact and indexed again later.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

import numpy as np

__all__ = [
    "Box",
    "Document",
    "Field",
    "FieldType",
    "HandwritingKind",
    "HandwritingMap",
    "KindSource",
    "Label",
    "Page",
    "Placement",
    "Span",
    "Word",
]


class HandwritingKind(enum.StrEnum):
    """What a handwriting box holds; `annotation` is every handwriting that is not a signature."""

    SIGNATURE = "signature"
    ANNOTATION = "annotation"


class FieldType(enum.StrEnum):
    """What a handwritten field holds, as its printed label (or its reading) tells."""

    DATE = "date"
    AMOUNT = "amount"
    NAME = "name"
    TITLE = "title"
    ADDRESS = "address"
    ZIP = "zip"
    PHONE = "phone"
    SIGNATURE = "signature"
    TEXT = "text"


class KindSource(enum.StrEnum):
    """Which decided a span's kind: the detector's class, the printed label beside the box, the
    reading, or a person's correction (the last two are kept when labels are found again)."""

    DETECTOR = "detector"
    LABEL = "label"
    #: a signature box whose reading is a whole date or amount, or an unlabelled annotation box
    #: the reader finds nothing legible in
    READING = "reading"
    PERSON = "person"


class Placement(enum.StrEnum):
    """How a handwriting span was put back into the page text."""

    EXACT = "exact"  # its anchor token was read verbatim
    FUZZY = "fuzzy"  # its anchor token was read with OCR confusions
    GEOMETRY = "geometry"  # the token was lost; placed by its box among the OCR words
    UNPLACED = "unplaced"  # not merged yet


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in rendered-page pixels, origin top left, `x1`/`y1` exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError(f"empty or inverted box {self.as_tuple()}")
        if self.x0 < 0 or self.y0 < 0:
            raise ValueError(f"box {self.as_tuple()} starts outside the page")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)

    def intersection(self, other: Box) -> int:
        """Area in pixels shared with `other`."""
        width = min(self.x1, other.x1) - max(self.x0, other.x0)
        return max(0, width) * self.shared_rows(other)

    def shared_rows(self, other: Box) -> int:
        """How many pixel rows this box and `other` both span (0 when one lies above the other)."""
        return max(0, min(self.y1, other.y1) - max(self.y0, other.y0))

    def holds_centre_of(self, other: Box) -> bool:
        """Whether `other`'s centre lies in this box (edges included)."""
        x, y = other.center
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def grown(self, margin_px: int) -> Box:
        """This box with `margin_px` more on every side (not past the page's top-left corner)."""
        return Box(
            max(self.x0 - margin_px, 0), max(self.y0 - margin_px, 0), self.x1 + margin_px, self.y1 + margin_px
        )

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    @classmethod
    def enclosing(cls, boxes: Iterable[Box]) -> Box:
        """The smallest box holding all of `boxes` (at least one)."""
        first, *rest = boxes
        return functools.reduce(Box.union, rest, first)

    def iou(self, other: Box) -> float:
        shared = self.intersection(other)
        return shared / (self.area + other.area - shared)

    def scaled(self, factor: float) -> Box:
        return Box(
            round(self.x0 * factor),
            round(self.y0 * factor),
            max(round(self.x1 * factor), round(self.x0 * factor) + 1),
            max(round(self.y1 * factor), round(self.y0 * factor) + 1),
        )

    def resized(self, factor: float, width: int, height: int) -> Box:
        """This box's width and height times `factor` about its centre, cut to a `width` x `height` page."""
        center_x, center_y = self.center
        half_width, half_height = self.width * factor / 2, self.height * factor / 2
        x0, y0 = max(round(center_x - half_width), 0), max(round(center_y - half_height), 0)
        return Box(
            x0, y0, max(round(center_x + half_width), x0 + 1), max(round(center_y + half_height), y0 + 1)
        ).clipped(width, height)

    def clipped(self, width: int, height: int) -> Box:
        """This box cut to a `width` x `height` page."""
        x0, y0 = min(self.x0, width - 1), min(self.y0, height - 1)
        return Box(x0, y0, max(min(self.x1, width), x0 + 1), max(min(self.y1, height), y0 + 1))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Box:
        return cls(int(data["x0"]), int(data["y0"]), int(data["x1"]), int(data["y1"]))


@dataclass(slots=True)
class Word:
    """One word of the page OCR, with its box and a confidence in [0, 1]."""

    text: str
    box: Box
    confidence: float
    block: int = 0
    line: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Word:
        return cls(
            text=data["text"],
            box=Box.from_dict(data["box"]),
            confidence=float(data["confidence"]),
            block=int(data.get("block", 0)),
            line=int(data.get("line", 0)),
        )


@dataclass(frozen=True, slots=True)
class Label:
    """The printed words that name a handwriting field (`Date:`, `[TITLE]`, `Signature of Owner`).

    `side` is where they are from the box: `left` on its line, `above` or `below` in its cell,
    `row`: the label of the block row the box was cut for (`split_blocks`), left of it, or
    `rule`: the bracketed caption printed under the rule the box is written on (`(Title)`).
    """

    text: str
    box: Box
    side: str
    #: The median height of its words: the size of the page's print there.
    line_height: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Label:
        return cls(
            text=str(data["text"]),
            box=Box.from_dict(data["box"]),
            side=str(data["side"]),
            line_height=int(data.get("line_height", 0)),
        )


@dataclass(slots=True)
class Span:
    """One handwriting box: where it is, what it says, and how it was put back into the text."""

    id: str
    kind: HandwritingKind
    box: Box
    detection_score: float
    anchor: str | None = None
    #: The area blanked for the anchor: the box, widened where the token is wider than the box.
    anchor_box: Box | None = None
    text: str = ""
    confidence: float = 0.0
    engine: str = ""
    placement: Placement = Placement.UNPLACED
    #: Offsets of the span's text in `Page.content`, filled by the merge step.
    start: int | None = None
    end: int | None = None
    entities: dict[str, Any] = field(default_factory=dict)
    #: The printed label beside the box and the field type it names, when one was found.
    label: Label | None = None
    field_type: FieldType | None = None
    #: The detector's class (the prior) and which of detector or label set `kind`.
    detected_kind: HandwritingKind | None = None
    kind_source: KindSource = KindSource.DETECTOR
    #: The printed rule the writing sits on (a form blank), found by `FindRules` from the image.
    rule: Box | None = None

    def __post_init__(self) -> None:
        self.kind = HandwritingKind(self.kind)
        self.placement = Placement(self.placement)
        self.kind_source = KindSource(self.kind_source)
        if self.field_type is not None:
            self.field_type = FieldType(self.field_type)
        if self.detected_kind is not None:
            self.detected_kind = HandwritingKind(self.detected_kind)
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"span {self.id}: confidence {self.confidence} is not in [0, 1]")

    @property
    def is_signature(self) -> bool:
        return self.kind is HandwritingKind.SIGNATURE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        values = {f.name: data[f.name] for f in dataclass_fields(cls) if f.name in data}
        values["box"] = Box.from_dict(data["box"])
        if data.get("anchor_box"):
            values["anchor_box"] = Box.from_dict(data["anchor_box"])
        if data.get("label"):
            values["label"] = Label.from_dict(data["label"])
        if data.get("rule"):
            values["rule"] = Box.from_dict(data["rule"])
        return cls(**values)


@dataclass(slots=True)
class Field:
    """One handwritten form field of a page: its label, its type and its value, normalised.

    `value` is the normalised text form (an ISO date, a plain number, a name as written with its
    spacing cleaned); `value_date` and `value_number` hold it typed for range queries.
    """

    span_id: str
    type: FieldType
    label: str
    value_text: str
    value: str | None
    box: Box
    confidence: float
    value_date: str | None = None
    value_number: float | None = None

    def __post_init__(self) -> None:
        self.type = FieldType(self.type)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Field:
        values = {f.name: data[f.name] for f in dataclass_fields(cls) if f.name in data}
        values["box"] = Box.from_dict(data["box"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class HandwritingMap:
    """The detector's probability that the page is handwriting there (signature or annotation),
    per cell of a grid laid over the page; each cell is `cell_px` page pixels square."""

    probability: np.ndarray  # (rows, cols) float in [0, 1]
    cell_px: float

    def mean(self, box: Box) -> float:
        """The mean probability over the cells `box` (page pixels) touches; 0 outside the grid."""
        rows, cols = self.probability.shape
        scale = 1.0 / self.cell_px
        y0, x0 = min(int(box.y0 * scale), rows - 1), min(int(box.x0 * scale), cols - 1)
        y1, x1 = max(int(box.y1 * scale), y0 + 1), max(int(box.x1 * scale), x0 + 1)
        cells = self.probability[max(y0, 0) : y1, max(x0, 0) : x1]
        return float(cells.mean()) if cells.size else 0.0


@dataclass(slots=True)
class Page:
    """One rendered page. `image`, `masked_image`, `handwriting_map` and `candidates` are transient
    and never serialised."""

    number: int
    dpi: int
    width: int
    height: int
    spans: list[Span] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    #: The page's handwritten form fields, one per span (filled by `ExtractFields`).
    fields: list[Field] = field(default_factory=list)
    printed_text: str = ""
    content: str = ""
    #: Degrees (counter-clockwise) the scan was turned to straighten it (`DeskewPages`); every
    #: box of the page is in the straightened image's pixels.
    skew_degrees: float = 0.0
    #: Engine name -> version, e.g. {"tesseract": "5.3.0", "detector": "fcn-v1"}.
    engines: dict[str, str] = field(default_factory=dict)
    #: Processor name -> seconds spent on this page.
    timings_s: dict[str, float] = field(default_factory=dict)
    image: np.ndarray | None = field(default=None, repr=False, compare=False)  # (height, width, 3) uint8 RGB
    masked_image: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: The detector's handwriting probabilities, when it gives them (`DetectHandwriting`).
    handwriting_map: HandwritingMap | None = field(default=None, repr=False, compare=False)
    #: Annotation boxes a second reading proposed where no span is, for `ConfirmCandidates`.
    candidates: list[Span] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.number < 1:
            raise ValueError(f"page numbers start at 1, got {self.number}")

    @property
    def handwriting_text(self) -> str:
        """All non-signature handwriting of the page, one span per line."""
        return "\n".join(span.text for span in self.spans if not span.is_signature and span.text)

    def to_dict(self) -> dict[str, Any]:
        data = {
            f.name: getattr(self, f.name)
            for f in dataclass_fields(self)
            if f.name not in _TRANSIENT_PAGE_FIELDS
        }
        data["spans"] = [asdict(span) for span in self.spans]
        data["words"] = [asdict(word) for word in self.words]
        data["fields"] = [asdict(item) for item in self.fields]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Page:
        values = {
            f.name: data[f.name]
            for f in dataclass_fields(cls)
            if f.name in data and f.name not in _TRANSIENT_PAGE_FIELDS
        }
        values["spans"] = [Span.from_dict(item) for item in data.get("spans", [])]
        values["words"] = [Word.from_dict(item) for item in data.get("words", [])]
        values["fields"] = [Field.from_dict(item) for item in data.get("fields", [])]
        return cls(**values)


_TRANSIENT_PAGE_FIELDS = frozenset({"image", "masked_image", "handwriting_map", "candidates"})


@dataclass(slots=True)
class Document:
    """One input file: its identity (sha256 of its bytes) and its pages."""

    id: str
    path: str
    filename: str
    size_bytes: int
    page_count: int = 0
    media_type: str = "application/pdf"
    ingested_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pages: list[Page] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.id) != 64 or any(ch not in "0123456789abcdef" for ch in self.id):
            raise ValueError(f"document id must be a lowercase sha256 hex digest, got {self.id!r}")

    def page_id(self, page: Page) -> str:
        """The Elasticsearch `_id` of a page: re-ingesting the same bytes is an upsert."""
        return f"{self.id}-p{page.number}"

    def to_dict(self, *, with_pages: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "path": self.path,
            "filename": self.filename,
            "size_bytes": self.size_bytes,
            "page_count": self.page_count,
            "media_type": self.media_type,
            "ingested_at": self.ingested_at.isoformat(),
        }
        if with_pages:
            data["pages"] = [page.to_dict() for page in self.pages]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            id=data["id"],
            path=data["path"],
            filename=data["filename"],
            size_bytes=int(data["size_bytes"]),
            page_count=int(data.get("page_count", 0)),
            media_type=data.get("media_type", "application/pdf"),
            ingested_at=datetime.fromisoformat(data["ingested_at"]),
            pages=[Page.from_dict(item) for item in data.get("pages", [])],
        )
