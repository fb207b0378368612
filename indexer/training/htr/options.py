"""What `train-htr` trains on and for how long; light to import, so the CLI reads its defaults here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from indexer.model_dirs.htr import HtrConfig
from indexer.training.htr.text import VOCABULARY

__all__ = ["TrainOptions"]


@dataclass(frozen=True)
class TrainOptions:
    """What to train on and for how long."""

    out_dir: Path
    synthetic: int = 0
    iam_dir: Path | None = None
    transcriptions: Path | None = None
    images_dir: Path | None = None
    real_copies: int = 40
    epochs: int = 10
    #: Training stops once this many minutes are spent, whatever `epochs` says.
    max_minutes: float = 30.0
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 0
    config: HtrConfig = field(default_factory=lambda: HtrConfig(vocabulary=VOCABULARY))
    #: A saved model to start from (fine-tuning); its htr.json replaces `config`.
    init_dir: Path | None = None
    command: str = ""
