"""What every recognizer checks before spending time on a crop."""

from __future__ import annotations

import numpy as np

__all__ = ["is_blank_crop"]

#: A crop whose grey levels span less than this holds no writing.
MIN_CONTRAST = 24


def is_blank_crop(crop: np.ndarray) -> bool:
    """True for an empty array, a sliver, or a crop without enough contrast to hold ink."""
    if crop.size == 0 or crop.ndim < 2 or min(crop.shape[:2]) < 2:
        return True
    values = np.asarray(crop, dtype=np.float32)
    grey = values.mean(axis=2) if values.ndim == 3 else values
    low, high = np.percentile(grey, (1, 99))
    return bool(high - low < MIN_CONTRAST)
