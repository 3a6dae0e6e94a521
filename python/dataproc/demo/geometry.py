"""Sizes of transformed copies, shared by the metadata plan and the image renderer.

Both sides call the same functions with the same (seed, file uid), so the width and height a
post's metadata claims are exactly those of the bytes that get stored.
"""

from __future__ import annotations

import numpy as np

from dataproc.demo.codes import CROPPED, RESIZED
from dataproc.demo.hashing import uniform

MAX_CROP_PER_SIDE = 0.025  # two sides together: at most 5% of a dimension
MIN_SCALE, MAX_SCALE = 0.5, 0.85


def resize_scale(seed: int, uid: np.ndarray) -> np.ndarray:
    return MIN_SCALE + (MAX_SCALE - MIN_SCALE) * uniform(seed, "resize.scale", uid)


def crop_box(
    seed: int, uid: np.ndarray, width: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(left, top, right, bottom) of a slight crop, in pixels of the native picture."""
    fractions = [uniform(seed, "crop." + side, uid) * MAX_CROP_PER_SIDE for side in "ltrb"]
    left = np.floor(fractions[0] * width).astype(np.int64)
    top = np.floor(fractions[1] * height).astype(np.int64)
    right = width - np.floor(fractions[2] * width).astype(np.int64)
    bottom = height - np.floor(fractions[3] * height).astype(np.int64)
    return left, top, right, bottom


def derived_size(
    seed: int, uid: np.ndarray, transform: np.ndarray, width: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(width, height) of a file made from a native picture by `transform`."""
    out_w = np.asarray(width, dtype=np.int64).copy()
    out_h = np.asarray(height, dtype=np.int64).copy()
    uid = np.asarray(uid)
    resized = np.flatnonzero(transform == RESIZED)
    scale = resize_scale(seed, uid[resized])
    out_w[resized] = np.maximum(1, np.round(out_w[resized] * scale))
    out_h[resized] = np.maximum(1, np.round(out_h[resized] * scale))
    cropped = np.flatnonzero(transform == CROPPED)
    left, top, right, bottom = crop_box(seed, uid[cropped], out_w[cropped], out_h[cropped])
    out_w[cropped] = right - left
    out_h[cropped] = bottom - top
    return out_w.astype(np.int32), out_h.astype(np.int32)
