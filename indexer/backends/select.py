"""Pick the handwriting recognizer from the settings (`INDEXER_HANDWRITING__ENGINE`).

`auto` takes Azure when its endpoint and key are set, else TrOCR when its model is available
locally (torch, transformers and the weights), else our own `htr`.
"""

from __future__ import annotations

import logging

from indexer.backends.base import HandwritingRecognizer
from indexer.backends.htr.lines import LineSplitOptions, LineSplittingRecognizer, default_splitter
from indexer.config import Settings
from indexer.errors import ConfigError

__all__ = ["ENGINES", "LINE_ENGINES", "build_recognizer", "resolve_engine"]

log = logging.getLogger(__name__)

ENGINES = ("auto", "azure", "trocr", "htr", "tesseract")
#: Engines that read one text line: their crops are cut into lines first (`split_lines`).
#: Azure finds lines itself; the tesseract engine stays plain Tesseract for comparison.
LINE_ENGINES = ("trocr", "htr")


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
    return "htr"


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
    from indexer.backends.htr.ctc import CtcRecognizer

    return CtcRecognizer(
        options.htr_model_dir,
        beam_width=options.beam_width,
        use_lexicon=options.use_lexicon,
        threads=options.threads,
    )
