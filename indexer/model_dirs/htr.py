"""An `htr` model folder: `htr.json` (how to rebuild the network and feed it), the weights, the lexicon.

Training (`indexer.training.htr.train`) writes it; the recognizer (`indexer.backends.htr.ctc`)
and the CLI read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from indexer.errors import DependencyError

__all__ = ["CONFIG_FILE", "LEXICON_FILE", "WEIGHTS_FILE", "HtrConfig", "check_htr_dir"]

CONFIG_FILE = "htr.json"
WEIGHTS_FILE = "htr.weights.npz"
LEXICON_FILE = "lexicon.txt"


@dataclass(frozen=True)
class HtrConfig:
    """Everything needed to rebuild the network and feed it; saved as `htr.json`."""

    vocabulary: str
    blank_index: int = 0
    input_height: int = 32
    max_width: int = 640
    conv_filters: tuple[int, ...] = (32, 64, 96, 96, 128)
    lstm_units: int = 256
    normalisation: str = "grey, ink = 1 - value / 255 after a 2-98 percentile stretch, pad with 0"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.vocabulary) + 1

    def encode(self, text: str) -> list[int]:
        """Class indices of `text` (the blank's index skipped); unknown characters are dropped."""
        positions = [self.vocabulary.index(c) for c in text if c in self.vocabulary]
        return [position + 1 if position >= self.blank_index else position for position in positions]

    @classmethod
    def load(cls, path: Path) -> HtrConfig:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["conv_filters"] = tuple(data["conv_filters"])
        return cls(**data)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check_htr_dir(model_dir: Path) -> None:
    """Raise when the folder lacks `htr.json` or the weights.

    Raises:
        DependencyError: naming the files and how to get them.
    """
    if not (model_dir / CONFIG_FILE).is_file() or not (model_dir / WEIGHTS_FILE).is_file():
        raise DependencyError(
            f"the htr model is missing in {model_dir} (expected {CONFIG_FILE} and {WEIGHTS_FILE}); "
            "set INDEXER_HANDWRITING__HTR_MODEL_DIR or run `indexer train-htr`"
        )
