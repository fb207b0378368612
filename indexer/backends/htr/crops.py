"""What every recognizer does with a crop first: check that it can hold writing, make it grey."""

from __future__ import annotations

import cv2
import numpy as np

from indexer.errors import InputError

__all__ = ["is_blank_crop", "to_grey"]

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


def to_grey(crop: np.ndarray) -> np.ndarray:
    """A (height, width) grey crop from a grey, RGB or RGBA one.

    Raises:
        InputError: the array is not an image.
    """
    if crop.ndim == 3 and crop.shape[2] == 4:
        return cv2.cvtColor(crop, cv2.COLOR_RGBA2GRAY)
    if crop.ndim == 3:
        return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    if crop.ndim == 2:
        return crop
    raise InputError(f"a crop must be (height, width) or (height, width, 3), got shape {crop.shape}")
