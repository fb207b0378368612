"""Scan-like distortions for training and test pages: noise, blur, JPEG, rotation, contrast, scale.

Photometric effects change only the pixels; geometric ones (`rotate_pair`) move an image and its
per-pixel target together, so labels stay aligned.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["jpeg_round_trip", "photometric", "rotate_pair", "rotation_matrix", "scan_effects"]

#: Rotation `scan_effects` applies at most: small enough that ground-truth boxes stay within a few
#: pixels of the ink (0.3 degrees moves a point 1000 px from the centre by about 5 px).
SCAN_MAX_ROTATION_DEG = 0.3


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode as JPEG at `quality` (the colour order is irrelevant here)."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return image
    decoded = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return image if decoded is None else np.asarray(decoded, np.uint8).reshape(image.shape)


def _tone_table(rng: np.random.Generator, strength: float) -> np.ndarray:
    """A 256-entry lookup table: contrast, brightness and gamma in one pass."""
    levels = np.arange(256, dtype=np.float32)
    gain = 1.0 + strength * rng.uniform(-0.25, 0.15)
    levels = (levels - 255.0) * gain + 255.0 + strength * rng.uniform(-25, 10)
    gamma = 1.0 + strength * rng.uniform(-0.3, 0.4)
    levels = 255.0 * (np.clip(levels, 0, 255) / 255.0) ** gamma
    return np.clip(levels, 0, 255).astype(np.uint8)


def photometric(image: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0) -> np.ndarray:
    """Contrast, brightness, blur, sensor noise, specks and a JPEG round trip on a uint8 image."""
    out = cv2.LUT(image, _tone_table(rng, strength))
    if rng.random() < 0.5 * strength:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.2))
    sigma = strength * rng.uniform(0, 8)
    if sigma > 0.5:
        noise = rng.standard_normal(out.shape[:2], dtype=np.float32) * sigma
        noisy = out.astype(np.float32) + (noise if out.ndim == 2 else noise[..., None])
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < 0.15 * strength:
        # Salt-and-pepper specks, as on photocopies.
        out = out.copy()
        out[rng.random(out.shape[:2], dtype=np.float32) < 0.0008] = 0
    if rng.random() < 0.7 * strength:
        out = jpeg_round_trip(out, int(rng.integers(35, 95)))
    return np.asarray(out, np.uint8)


def rotation_matrix(shape: tuple[int, ...], angle_deg: float, scale: float = 1.0) -> np.ndarray:
    """The 2x3 affine matrix that `rotate_pair` applies: a rotation about the image centre."""
    height, width = shape[:2]
    return cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, scale)


def rotate_pair(
    image: np.ndarray, target: np.ndarray, angle_deg: float, *, fill: int = 255
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate an image (white fill) and its class map (nearest, background fill) together."""
    matrix = rotation_matrix(image.shape, angle_deg)
    size = (image.shape[1], image.shape[0])
    border = (fill, fill, fill) if image.ndim == 3 else fill
    rotated = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderValue=border)
    labels = cv2.warpAffine(target, matrix, size, flags=cv2.INTER_NEAREST, borderValue=0)
    return rotated, labels


def scan_effects(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make a clean page look scanned: slight rotation, contrast, blur, noise, JPEG.

    The rotation is at most `SCAN_MAX_ROTATION_DEG`, so boxes drawn on the clean page stay valid
    within a few pixels.
    """
    angle = float(rng.uniform(-SCAN_MAX_ROTATION_DEG, SCAN_MAX_ROTATION_DEG))
    matrix = rotation_matrix(image.shape, angle)
    border = (255, 255, 255) if image.ndim == 3 else 255
    rotated = cv2.warpAffine(
        image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR, borderValue=border
    )
    return photometric(rotated, rng, strength=0.7)
