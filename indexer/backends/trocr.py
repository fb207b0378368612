"""`trocr`: Microsoft's TrOCR through Hugging Face transformers (PyTorch, the `trocr` extra).

The model is a local folder or a hub id; an id is looked up in the local cache and downloaded
only when the user allows it. Crops are read a batch at a time with `generate`; the confidence
is the geometric mean of the generated tokens' probabilities (the sequence score with beams).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.backends.base import Recognition
from indexer.backends.htr.crops import is_blank_crop
from indexer.errors import BackendError, DependencyError

__all__ = ["TrOcrRecognizer", "is_trocr_available", "require_trocr"]

log = logging.getLogger(__name__)

ENGINE = "trocr"
_EXTRA_HINT = "install the trocr extra: pip install 'contract-indexer[trocr]'"


def require_trocr() -> tuple[Any, Any, Any]:
    """Import torch and transformers' TrOCR classes, or raise `DependencyError` naming the extra."""
    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        # Triton (pulled in by torch on Linux, only used for GPU kernels) and TensorFlow each bundle
        # LLVM; loading triton after TensorFlow aborts the process ("registered more than once").
        # Mark triton as unavailable so transformers falls back to its CPU paths.
        log.debug("tensorflow is loaded: hiding triton from torch/transformers")
        sys.modules["triton"] = None  # type: ignore[assignment]
    try:
        import torch
        from transformers import TrOCRProcessor, VisionEncoderDecoderModel
    except ImportError as exc:
        raise DependencyError(
            f"the trocr engine needs torch and transformers ({exc}); {_EXTRA_HINT}"
        ) from exc
    return torch, TrOCRProcessor, VisionEncoderDecoderModel


def is_trocr_available(model: str) -> bool:
    """True when `model` is a local folder or in the hub cache, and torch and transformers exist.

    Nothing heavy is imported: `auto` asks this in every worker, and importing torch and
    transformers costs about 0.7 GB of memory per process.
    """
    if Path(model).is_dir():
        found = (Path(model) / "config.json").is_file()
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            found = isinstance(try_to_load_from_cache(model, "config.json"), str)
        except (ImportError, ValueError):
            found = False
    return found and all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))


class TrOcrRecognizer:
    """Reads crops with a `VisionEncoderDecoderModel` and its `TrOCRProcessor`.

    Args:
        model: a local folder or a hub id such as `microsoft/trocr-base-handwritten`.
        allow_download: fetch a hub id that is not cached (needs a network).
        beam_width: 1 for greedy generation, more for beam search.
        max_new_tokens: longest text generated per crop.
        threads: torch intra-op threads (0 keeps torch's default).

    Raises:
        DependencyError: torch/transformers are missing, or the model is neither local nor allowed
            to be downloaded.
    """

    name = ENGINE

    def __init__(
        self,
        model: str,
        *,
        allow_download: bool = False,
        beam_width: int = 1,
        max_new_tokens: int = 48,
        threads: int = 0,
    ) -> None:
        torch, processor_class, model_class = require_trocr()
        if threads > 0:
            torch.set_num_threads(threads)
        local_only = not allow_download
        try:
            self._processor = processor_class.from_pretrained(model, local_files_only=local_only)
            self._model = model_class.from_pretrained(model, local_files_only=local_only)
        except OSError as exc:
            raise DependencyError(
                f"the TrOCR model {model!r} is not available locally ({exc}); point "
                "INDEXER_HANDWRITING__TROCR_MODEL at a folder, or set "
                "INDEXER_HANDWRITING__TROCR_ALLOW_DOWNLOAD=true on a machine with a network"
            ) from exc
        self._model.eval()
        self._torch = torch
        self._beam_width = beam_width
        self._max_new_tokens = max_new_tokens
        self.version = str(getattr(self._model.config, "_name_or_path", "") or model)

    def __enter__(self) -> TrOcrRecognizer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._model = None

    def recognize(self, crops: Sequence[np.ndarray]) -> list[Recognition]:
        """One `Recognition` per crop, in order; empty crops are not sent to the model."""
        from PIL import Image

        results: list[Recognition] = [Recognition("", 0.0, ENGINE)] * len(crops)
        rows = [row for row, crop in enumerate(crops) if not is_blank_crop(crop)]
        if not rows:
            return results
        images = [Image.fromarray(np.asarray(crops[row]).astype(np.uint8)).convert("RGB") for row in rows]
        try:
            texts, confidences = self._generate(images)
        except (RuntimeError, ValueError) as exc:
            raise BackendError(
                f"generation failed on a batch of {len(rows)} crops: {exc}", engine=ENGINE
            ) from exc
        for row, text, confidence in zip(rows, texts, confidences, strict=True):
            clean = " ".join(text.split())
            results[row] = Recognition(clean, confidence if clean else 0.0, ENGINE)
        return results

    def _generate(self, images: list[Any]) -> tuple[list[str], list[float]]:
        torch = self._torch
        config = self._model.config
        pixel_values = self._processor(images=images, return_tensors="pt").pixel_values
        with torch.no_grad():
            output = self._model.generate(
                pixel_values,
                max_new_tokens=self._max_new_tokens,
                num_beams=self._beam_width,
                output_scores=True,
                return_dict_in_generate=True,
                decoder_start_token_id=config.decoder_start_token_id,
                pad_token_id=config.pad_token_id,
                eos_token_id=config.eos_token_id,
            )
        texts = self._processor.batch_decode(output.sequences, skip_special_tokens=True)
        return list(texts), self._confidences(output)

    def _confidences(self, output: Any) -> list[float]:
        torch = self._torch
        if self._beam_width > 1 and getattr(output, "sequences_scores", None) is not None:
            # Length-normalised log-probabilities of the chosen beams.
            return [float(min(1.0, max(0.0, torch.exp(s).item()))) for s in output.sequences_scores]
        transition = self._model.compute_transition_scores(
            output.sequences, output.scores, normalize_logits=True
        )
        generated = output.sequences[:, 1:]
        mask = generated != self._model.config.pad_token_id
        mean = (transition * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return [float(min(1.0, max(0.0, value))) for value in torch.exp(mean).tolist()]
