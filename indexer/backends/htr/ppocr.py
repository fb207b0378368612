"""`ppocr`: PaddleOCR's PP-OCRv6 small text recognizer, the ONNX file inside the `rapidocr` wheel.

Nothing is downloaded: the model and its character list (the ONNX file's `character` metadata)
come from the installed `rapidocr` package, pinned in pyproject.toml, and are run with
`onnxruntime` directly. Split as preprocessor (`preprocess_crop`: RapidOCR's own resizing),
model (`_Session`) and decoder (best path, then `indexer.backends.htr.typed` and the htr
lexicon). `read` exposes each crop's per-step class probabilities for other decoders, with the
printed captions a loose box took in already blanked (`indexer.backends.htr.captions`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from indexer.backends.base import Recognition
from indexer.backends.htr.captions import blank_captions
from indexer.backends.htr.crops import is_blank_crop, to_grey
from indexer.backends.htr.ctc_decode import CtcWordScorer, best_path, labels_to_text
from indexer.backends.htr.grammar import spaced_date
from indexer.backends.htr.spelling import Lexicon, SpellingCorrector
from indexer.backends.htr.typed import FieldType, TypedDecoder
from indexer.errors import BackendError, DependencyError

__all__ = [
    "ENGINE",
    "INPUT_HEIGHT",
    "MODEL_FILE",
    "SPACE_BOOST",
    "PpOcrReading",
    "PpOcrRecognizer",
    "boost_spaces",
    "find_model",
    "preprocess_crop",
]

log = logging.getLogger(__name__)

ENGINE = "ppocr"
PACKAGE = "rapidocr"
MODEL_FILE = "PP-OCRv6_rec_small.onnx"
#: The model's input height; RapidOCR's `rec_img_shape` is (3, 48, 320).
INPUT_HEIGHT = 48
#: Narrower crops are padded to this width, as RapidOCR does (the model was trained that way).
MIN_INPUT_WIDTH = 320
#: Input columns per output time step (the network's width stride).
WIDTH_PER_STEP = 8
#: Characters kept from the model's 18,708: printable ASCII and the space. Contracts here are
#: English; the other classes (CJK, symbols) only turn a smudge into a glyph no field holds.
KEPT_CHARACTERS = frozenset(chr(code) for code in range(32, 127))
#: Crops with less ink than this share of dark pixels are read as empty.
_MIN_INK_SHARE = 0.002
#: Nats added to the space's log-probability at every step before a free reading: the model,
#: trained mostly on print, runs handwritten words together (`BabetteSylvester`). Chosen by
#: cross-validation by document on contracts-dev (`indexer.training.htr.typed_cv`).
SPACE_BOOST = 1.5


def find_model() -> Path:
    """The ONNX file inside the installed `rapidocr` package (found without importing it).

    Raises:
        DependencyError: the package or its bundled model is missing.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise DependencyError(f"the ppocr engine needs the `{PACKAGE}` package: pip install rapidocr==3.10.0")
    path = Path(spec.origin).parent / "models" / MODEL_FILE
    if not path.is_file():
        raise DependencyError(f"{MODEL_FILE} is missing from {path.parent}; reinstall rapidocr==3.10.0")
    return path


def preprocess_crop(crop: np.ndarray) -> tuple[np.ndarray, int]:
    """A (3, 48, width) float32 input in [-1, 1] and the number of its output steps holding the crop.

    The crop is resized to height 48 keeping its aspect ratio, as BGR (RapidOCR reads images with
    OpenCV), and right-padded with 0 to at least `MIN_INPUT_WIDTH` and a multiple of the stride,
    so a crop's input never depends on the other crops of its batch.
    """
    grey = to_grey(np.asarray(crop).astype(np.uint8, copy=False))
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    height, width = grey.shape
    resized_width = max(1, math.ceil(INPUT_HEIGHT * width / max(height, 1)))
    resized = cv2.resize(bgr, (resized_width, INPUT_HEIGHT)).astype(np.float32)
    padded_width = -(-max(resized_width, MIN_INPUT_WIDTH) // WIDTH_PER_STEP) * WIDTH_PER_STEP
    image = np.zeros((3, INPUT_HEIGHT, padded_width), np.float32)
    image[:, :, :resized_width] = resized.transpose(2, 0, 1) / 127.5 - 1.0
    steps = min(-(-resized_width // WIDTH_PER_STEP) + 1, padded_width // WIDTH_PER_STEP)
    return image, steps


@dataclass(frozen=True, slots=True)
class PpOcrReading:
    """The model's output on one crop, over `PpOcrRecognizer.vocabulary` (blank = class 0)."""

    #: (time, classes) probabilities, renormalised over the kept characters and the blank.
    probabilities: np.ndarray


class _Session:
    """The ONNX Runtime session and the column of each kept character in its output."""

    def __init__(self, path: Path, *, threads: int) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise DependencyError("the ppocr engine needs onnxruntime: pip install onnxruntime") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # its warnings about unused initializers are noise
        try:
            self.session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            characters = self.session.get_modelmeta().custom_metadata_map["character"].splitlines()
        except (KeyError, RuntimeError, ValueError) as exc:
            raise DependencyError(f"cannot load {path} ({exc}); reinstall rapidocr==3.10.0") from exc
        # The package's decoder puts the blank before the list and the space after it.
        classes = ["", *characters, " "]
        self.columns = np.array(
            [0, *(i for i, char in enumerate(classes) if char in KEPT_CHARACTERS)], np.int64
        )
        self.vocabulary = "".join(classes[i] for i in self.columns[1:])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """(batch, time, kept classes) probabilities of a (batch, 3, 48, width) input."""
        full = self.session.run(None, {self.input_name: batch})[0]  # (batch, time, 18710)
        kept = full[:, :, self.columns]
        total: np.ndarray = np.maximum(kept.sum(axis=2, keepdims=True), 1e-12)
        return np.asarray(kept / total, np.float32)


class PpOcrRecognizer:
    """Reads line crops with PP-OCRv6 small, then decodes dates and amounts under their grammar.

    Args:
        model_path: the ONNX file; default: the one inside the installed `rapidocr` package.
        threads: ONNX Runtime intra-op threads (0: its default, every core).
        typed: the grammar decoder for dates, amounts, zip codes and phones; None reads freely.
        lexicon: word correction for text (never for typed readings or tokens holding digits).
        space_boost: nats added to the space's log-probability in free readings (`SPACE_BOOST`).
        drop_captions: blank parenthesised printed captions (`blank_captions`) before decoding.

    Raises:
        DependencyError: rapidocr or onnxruntime is missing.
    """

    name = ENGINE

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 0,
        typed: TypedDecoder | None = None,
        lexicon: Lexicon | None = None,
        space_boost: float = SPACE_BOOST,
        drop_captions: bool = True,
    ) -> None:
        path = model_path or find_model()
        if not path.is_file():
            raise DependencyError(f"no ppocr model at {path}; reinstall rapidocr==3.10.0 or fix the path")
        self._session: _Session | None = _Session(path, threads=threads)
        self.vocabulary = self._session.vocabulary
        self.version = f"PP-OCRv6_rec_small (rapidocr {_package_version()})"
        self.typed = typed
        self.space_boost = space_boost
        self.drop_captions = drop_captions
        self._corrector = SpellingCorrector(lexicon) if lexicon is not None else None

    def __enter__(self) -> PpOcrRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._session = None

    def read(self, crops: Sequence[np.ndarray]) -> list[PpOcrReading | None]:
        """The per-step probabilities of each crop, in order; None for an empty or blank crop.

        With `drop_captions`, the steps of parenthesised printed captions are blanks.
        """
        readings: list[PpOcrReading | None] = [None] * len(crops)
        inputs: dict[int, tuple[np.ndarray, int]] = {}
        for row, crop in enumerate(crops):
            if is_blank_crop(crop) or not _has_ink(crop):
                continue
            inputs[row] = preprocess_crop(crop)
        # Crops of one padded width share a batch; their inputs are the same as read alone.
        by_width: dict[int, list[int]] = {}
        for row, (image, _) in inputs.items():
            by_width.setdefault(image.shape[2], []).append(row)
        for rows in by_width.values():
            probabilities = self._run(np.stack([inputs[row][0] for row in rows]))
            for row, matrix in zip(rows, probabilities, strict=True):
                kept = matrix[: inputs[row][1]]
                if self.drop_captions:
                    kept = blank_captions(kept, self.vocabulary, blank_index=0)
                readings[row] = PpOcrReading(kept)
        return readings

    def recognize(
        self, crops: Sequence[np.ndarray], *, type_hints: Sequence[FieldType | None] | None = None
    ) -> list[Recognition]:
        """One `Recognition` per crop, in order; empty or blank crops give empty text.

        Args:
            crops: line crops.
            type_hints: the field type of each crop when known (its printed label), else None.
        """
        hints = list(type_hints) if type_hints is not None else [None] * len(crops)
        if len(hints) != len(crops):
            raise ValueError("type_hints must give one entry per crop")
        readings = self.read(crops)
        return [
            self.decode(reading, type_hint=hint) if reading is not None else Recognition("", 0.0, ENGINE)
            for reading, hint in zip(readings, hints, strict=True)
        ]

    def decode(self, reading: PpOcrReading, *, type_hint: FieldType | None = None) -> Recognition:
        """Text and confidence of one crop: a typed reading when it is likely enough, else free text."""
        if self.typed is not None:
            typed = self.typed.decode(reading.probabilities, type_hint=type_hint)
            if typed.field_type is not None:
                return Recognition(typed.text, typed.confidence, ENGINE)
        return self.read_freely(reading)

    def read_freely(self, reading: PpOcrReading, *, space_boost: float | None = None) -> Recognition:
        """The free reading of one crop: best path with boosted spaces, then the lexicon.

        Args:
            space_boost: nats added to the space's log-probability; default `self.space_boost`.
        """
        boost = self.space_boost if space_boost is None else space_boost
        probabilities = boost_spaces(reading.probabilities, self.vocabulary, boost)
        decoded = best_path(probabilities, blank_index=0)
        text = " ".join(labels_to_text(decoded.labels, self.vocabulary, blank_index=0).split())
        if self._corrector is not None and text:
            scorer: CtcWordScorer | None = CtcWordScorer(
                probabilities, decoded, self.vocabulary, blank_index=0
            )
            if scorer is not None and len(scorer.windows) != len(text.split()):
                scorer = None
            text = self._corrector.correct(text, scorer)
        return Recognition(spaced_date(text), decoded.confidence, ENGINE)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self._session is None:
            raise BackendError("the ppocr recognizer was used after it was closed", engine=ENGINE)
        started = time.perf_counter()
        try:
            out = self._session(batch)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BackendError(
                f"the model failed on a batch of {len(batch)} crops: {exc}", engine=ENGINE
            ) from exc
        log.debug(
            "ppocr read %d crops of width %d in %.3f s",
            len(batch),
            batch.shape[3],
            time.perf_counter() - started,
        )
        return out


def boost_spaces(probabilities: np.ndarray, vocabulary: str, boost: float) -> np.ndarray:
    """(time, classes) probabilities with the space's multiplied by exp(`boost`), renormalised.

    Class 0 is the blank and class i the (i-1)-th character of `vocabulary`; without a space in
    the vocabulary, or with no boost, the input is returned as it is.
    """
    if boost == 0 or " " not in vocabulary:
        return probabilities
    boosted = probabilities.copy()
    boosted[:, vocabulary.index(" ") + 1] *= math.exp(boost)
    total: np.ndarray = boosted.sum(axis=1, keepdims=True)
    return np.asarray(boosted / np.maximum(total, 1e-12), np.float32)


def _has_ink(crop: np.ndarray) -> bool:
    grey = to_grey(np.asarray(crop).astype(np.uint8, copy=False)).astype(np.float32)
    low, high = np.percentile(grey, (2, 98))
    # The htr engine's rule: ink is darker than 65% of the way from the darkest to the lightest grey.
    dark = grey < low + 0.65 * max(high - low, 32.0)
    return float(dark.mean()) >= _MIN_INK_SHARE


def _package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
