"""Pick the handwriting recognizer from the settings (`INDEXER_HANDWRITING__ENGINE`).

`auto` takes Azure when its endpoint and key are set, else TrOCR when its model is available
locally (torch, transformers and the weights), else `ppocr` (the best offline engine on
contracts-dev: models/ppocr/MODEL_CARD.md) when rapidocr is installed, else our own `htr`.
"""

from __future__ import annotations

import logging

from indexer.backends.base import HandwritingRecognizer
from indexer.backends.htr.lines import LineSplitOptions, LineSplittingRecognizer, default_splitter
from indexer.config import Settings
from indexer.errors import ConfigError, DependencyError

__all__ = ["ENGINES", "LINE_ENGINES", "build_recognizer", "resolve_engine"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "azure", "trocr", "ppocr", "ensemble", "htr", "tesseract")
#: Engines that read one text line: their crops are cut into lines first (`split_lines`).
#: Azure finds lines itself; the tesseract engine stays plain Tesseract for comparison.
LINE_ENGINES = ("trocr", "ppocr", "ensemble", "htr")


def resolve_engine(settings: Settings, *, engine: str | None = None) -> str:
    """The concrete engine name that `auto` (or the given name) stands for."""
    name = engine or settings.handwriting.engine
    if name not in ENGINES:
        raise ConfigError(f"unknown handwriting engine {name!r}; choose one of {', '.join(ENGINES)}")
    if name != "auto":
        return name
    if settings.azure.is_configured:
        return "azure"
    from indexer.backends.trocr import is_trocr_available

    if is_trocr_available(settings.handwriting.trocr_model):
        return "trocr"
    from indexer.backends.htr.ppocr import find_model

    try:
        find_model()
    except DependencyError as exc:
        log.warning("auto falls back to htr: %s", exc)
        return "htr"
    return "ppocr"


def build_recognizer(settings: Settings, *, engine: str | None = None) -> HandwritingRecognizer:
    """A ready recognizer for `engine` (default: the configured one; `auto` resolved).

    Raises:
        ConfigError: an unknown engine, or Azure without endpoint and key.
        DependencyError: the engine's package or model is missing.
    """
    name = resolve_engine(settings, engine=engine)
    log.info("handwriting engine: %s", name)
    recognizer = _build(settings, name)
    if name not in LINE_ENGINES or not settings.handwriting.split_lines:
        return recognizer
    from indexer.backends.htr.ctc import CtcRecognizer

    options = LineSplitOptions()
    if isinstance(recognizer, CtcRecognizer):
        # Wider lines would be squeezed into the model's maximum input width.
        options = LineSplitOptions(
            max_line_aspect=recognizer.config.max_width / recognizer.config.input_height
        )
    return LineSplittingRecognizer(recognizer, default_splitter(options))


def _build(settings: Settings, name: str) -> HandwritingRecognizer:
    options = settings.handwriting
    if name == "azure":
        from indexer.backends.azure import AzureReadOcr

        return AzureReadOcr(settings.azure)
    if name == "trocr":
        from indexer.backends.trocr import TrOcrRecognizer

        return TrOcrRecognizer(
            options.trocr_model,
            allow_download=options.trocr_allow_download,
            beam_width=options.beam_width,
            max_new_tokens=options.trocr_max_new_tokens,
            threads=options.threads,
        )
    if name == "tesseract":
        from indexer.backends.tesseract_crop import TesseractCropRecognizer

        return TesseractCropRecognizer()
    if name == "ppocr":
        return _build_ppocr(settings)
    if name == "ensemble":
        return _build_ensemble(settings)
    from indexer.backends.htr.ctc import CtcRecognizer

    return CtcRecognizer(
        options.htr_model_dir,
        beam_width=options.beam_width,
        use_lexicon=options.use_lexicon,
        threads=options.threads,
    )


def _build_ppocr(settings: Settings) -> HandwritingRecognizer:
    from indexer.backends.htr.ppocr import PpOcrRecognizer
    from indexer.backends.htr.spelling import Lexicon
    from indexer.backends.htr.typed import TypedDecoder

    options = settings.handwriting
    lexicon = None
    if options.use_lexicon and options.ppocr_lexicon.is_file():
        lexicon = Lexicon.load(options.ppocr_lexicon)
    recognizer = PpOcrRecognizer(threads=options.threads, lexicon=lexicon)
    if options.typed_decoding:
        recognizer.typed = TypedDecoder(
            recognizer.vocabulary, margin=options.typed_margin, hinted_margin=options.typed_hinted_margin
        )
    return recognizer


def _build_ensemble(settings: Settings) -> HandwritingRecognizer:
    from indexer.backends.htr.ctc import CtcRecognizer
    from indexer.backends.htr.ensemble import EnsembleRecognizer
    from indexer.backends.htr.lines import LineSplitter

    htr = _build(settings, "htr")
    if isinstance(htr, CtcRecognizer):
        # The ensemble gets lines; htr still needs long ones cut to its maximum input width.
        aspect = htr.config.max_width / htr.config.input_height
        htr = LineSplittingRecognizer(htr, LineSplitter(LineSplitOptions(max_line_aspect=aspect)))
    return EnsembleRecognizer(
        _build_ppocr(settings), htr, confidence_offset=settings.handwriting.ensemble_confidence_offset
    )
