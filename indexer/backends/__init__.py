"""Engines behind small interfaces: OCR, handwriting recognition, handwriting detection."""

from __future__ import annotations

from indexer.backends.base import (
    BoxDetector,
    Detection,
    HandwritingRecognizer,
    PrintedOcr,
    PrintedOcrResult,
    Recognition,
)

__all__ = [
    "BoxDetector",
    "Detection",
    "HandwritingRecognizer",
    "PrintedOcr",
    "PrintedOcrResult",
    "Recognition",
]
