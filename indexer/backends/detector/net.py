"""The handwriting FCN: the page preprocessing that training shares, and the network."""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np

from indexer.errors import ConfigError
from indexer.model_dirs.detector import COMPUTE_DTYPES, DetectorConfig

__all__ = ["build_model", "preprocess", "resize_factor"]

log = logging.getLogger(__name__)


def preprocess(image: np.ndarray, config: DetectorConfig, *, scale: float = 1.0) -> tuple[np.ndarray, float]:
    """A page (H, W, 3) RGB or (H, W) grey uint8 -> ((h, w, 1) float32 ink map, resize factor).

    `scale` multiplies the resize factor (training uses it for scale augmentation). The result is
    padded at the bottom and right to a multiple of `pad_multiple_px`.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    factor = resize_factor(grey.shape, config) * scale
    height = max(1, round(grey.shape[0] * factor))
    width = max(1, round(grey.shape[1] * factor))
    small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
    multiple = config.pad_multiple_px
    padded = np.full((-(-height // multiple) * multiple, -(-width // multiple) * multiple), 255, np.uint8)
    padded[:height, :width] = small
    return (1.0 - padded.astype(np.float32) / 255.0)[..., None], factor


def resize_factor(shape: tuple[int, ...], config: DetectorConfig) -> float:
    """The factor that brings a page of `shape` (height, width, ...) to `short_side_px` (scale 1)."""
    return config.short_side_px / min(shape[:2])


def build_model(config: DetectorConfig, *, compute_dtype: str = "float32") -> Any:
    """The fully convolutional net: (batch, h, w, 1) -> (batch, h/s, w/s, `output_channels`) for
    s = `output_stride`.

    Channels: the class softmax, then with the box head the kernel probability (sigmoid) and the
    four log edge distances (left, top, right, bottom; linear). With `compute_dtype` "bfloat16"
    the hidden layers compute in bfloat16 on float32 weights (a third faster to train on CPUs
    with AVX-512 BF16); the heads stay float32, and the weights load into a float32 net.

    Raises:
        InputError: `compute_dtype` is not one of `COMPUTE_DTYPES`.
    """
    from tensorflow import keras

    if compute_dtype not in COMPUTE_DTYPES:
        raise ConfigError(f"compute dtype must be one of {', '.join(COMPUTE_DTYPES)}, not {compute_dtype!r}")
    layers = keras.layers
    width = config.base_filters
    policy = "mixed_bfloat16" if compute_dtype == "bfloat16" else "float32"

    def conv(x: Any, filters: int, *, strides: int = 1, dilation: int = 1) -> Any:
        x = layers.Conv2D(
            filters, 3, strides=strides, dilation_rate=dilation, padding="same", use_bias=False, dtype=policy
        )(x)
        return layers.ReLU(dtype=policy)(layers.BatchNormalization(dtype=policy)(x))

    inputs = keras.Input((None, None, 1), name="page")
    x = conv(inputs, width // 2) if config.stem == "full" else inputs
    half = conv(conv(x, width, strides=2), width)  # 1/2
    quarter = conv(conv(half, 2 * width, strides=2), 2 * width)  # 1/4
    eighth = conv(quarter, 3 * width, strides=2)  # 1/8
    for dilation in (2, 4, 8):  # wide context: a signature block vs. a filled-in blank
        eighth = conv(eighth, 3 * width, dilation=dilation)
    up = layers.Concatenate(dtype=policy)([layers.UpSampling2D(2, dtype=policy)(eighth), quarter])
    up = conv(up, 2 * width)
    features = 2 * width
    if config.output_stride == 2:
        up = layers.Concatenate(dtype=policy)([layers.UpSampling2D(2, dtype=policy)(up), half])
        up = conv(up, width)
        features = width
    outputs = layers.Conv2D(len(config.class_names), 1, activation="softmax", name="classes")(up)
    if config.box_head:
        # A layer of its own, so the box geometry does not crowd the class features.
        boxes = conv(up, features)
        kernel = layers.Conv2D(1, 1, activation="sigmoid", name="kernel")(boxes)
        distances = layers.Conv2D(4, 1, name="edge_distances")(boxes)
        outputs = layers.Concatenate(name="heads")([outputs, kernel, distances])
    return keras.Model(inputs, outputs, name="handwriting_fcn")
