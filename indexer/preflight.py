"""Check, without loading any model, that everything the pipeline needs is there.

The watch daemon runs this in its own process before it starts workers: a worker that cannot
start would otherwise fail in a child process, after TensorFlow has loaded, once per respawn.
Each check raises the same error the engine itself would raise, with the same advice.
"""

from __future__ import annotations

import logging
import shutil

from indexer.config import Settings
from indexer.errors import ConfigError, DependencyError

__all__ = ["check_pipeline"]

log = logging.getLogger(__name__)


def check_pipeline(settings: Settings) -> None:
    """Raise the first problem that would stop a worker from building the configured pipeline.

    Raises:
        ConfigError: a setting names an unknown processor or engine, or Azure is chosen unconfigured.
        DependencyError: a model file, a font, Tesseract or a package is missing.
    """
    from indexer.processors.anchor import font_path

    names = settings.pipeline.processors
    font_path(settings.anchors.font)  # every pipeline builds the anchor painter
    if "detect_handwriting" in names:
        _check_detector(settings)
    if "ocr_printed" in names:
        _check_printed_ocr(settings)
    if "ocr_handwriting" in names:
        _check_recognizer(settings)
    log.debug("pipeline checks passed: %s", ", ".join(names))


def _check_detector(settings: Settings) -> None:
    config = settings.detector
    if config.engine == "tfod":
        if config.tfod_saved_model is None or not config.tfod_saved_model.is_dir():
            raise DependencyError(
                f"the TFOD SavedModel folder {config.tfod_saved_model} does not exist; "
                "set INDEXER_DETECTOR__TFOD_SAVED_MODEL"
            )
        return
    from indexer.model_dirs.detector import load_detector_dir

    load_detector_dir(config.model_dir)


def _check_printed_ocr(settings: Settings) -> None:
    if settings.pipeline.printed_ocr == "azure":
        if not settings.azure.is_configured:
            raise ConfigError("printed OCR is azure but INDEXER_AZURE__ENDPOINT and __KEY are not both set")
        return
    from indexer.backends.tesseract import find_tessdata

    try:
        import tesserocr  # noqa: F401
    except ImportError as exc:
        raise DependencyError("the tesserocr package is missing; pip install tesserocr") from exc
    find_tessdata(settings.tesseract.tessdata_dir, settings.tesseract.lang)


def _check_recognizer(settings: Settings) -> None:
    from indexer.backends.select import resolve_engine

    engine = resolve_engine(settings)
    if engine == "azure" and not settings.azure.is_configured:
        raise ConfigError("handwriting engine azure needs INDEXER_AZURE__ENDPOINT and INDEXER_AZURE__KEY")
    if engine == "tesseract" and shutil.which("tesseract") is None:
        raise DependencyError("the `tesseract` program is missing; apt-get install tesseract-ocr")
    if engine == "trocr":
        from indexer.backends.trocr import is_trocr_available

        model = settings.handwriting.trocr_model
        if not settings.handwriting.trocr_allow_download and not is_trocr_available(model):
            raise DependencyError(
                f"the TrOCR model {model} is not available locally; download it by name or choose "
                "another INDEXER_HANDWRITING__ENGINE"
            )
    if engine in ("ppocr", "ensemble"):
        from indexer.backends.htr.ppocr import find_model

        find_model()
    if engine in ("htr", "ensemble"):
        from indexer.model_dirs.htr import check_htr_dir

        check_htr_dir(settings.handwriting.htr_model_dir)
