"""md5 and byte size of each file: measured from written bytes, or synthesized without images.

Metadata-only lakes still need md5s that are equal exactly where files are shared, so the
synthetic md5 is a hash of the file id.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pyarrow as pa

from dataproc.demo import codes as c
from dataproc.demo.hashing import fake_md5, uniform
from dataproc.demo.ledger import FileTable

# Rough bytes per pixel of each format, for plausible synthetic file sizes.
BYTES_PER_PIXEL = {
    c.JPG: 0.35,
    c.JPEG: 0.35,
    c.PNG: 1.6,
    c.WEBP: 0.25,
    c.GIF: 0.9,
    c.MP4: 6.0,
    c.WEBM: 5.0,
    c.ZIP: 8.0,
}


class FileFacts(Protocol):
    def md5(self, uids: np.ndarray) -> pa.Array: ...

    def size(self, uids: np.ndarray) -> np.ndarray: ...


def estimated_size(
    seed: int, keys: np.ndarray, width: np.ndarray, height: np.ndarray, ext: np.ndarray
) -> np.ndarray:
    per_pixel = np.zeros(len(c.EXTS))
    for code, value in BYTES_PER_PIXEL.items():
        per_pixel[code] = value
    noise = 0.6 + 0.8 * uniform(seed, "file.size", keys)
    return (width.astype(np.float64) * height * per_pixel[ext] * noise).astype(np.int64) + 800


class SyntheticFacts:
    """Facts for files that are never written."""

    def __init__(self, seed: int, files: FileTable) -> None:
        self.seed = seed
        self.files = files

    def md5(self, uids: np.ndarray) -> pa.Array:
        return fake_md5(self.seed, uids)

    def size(self, uids: np.ndarray) -> np.ndarray:
        f = self.files
        return estimated_size(self.seed, uids, f.width[uids], f.height[uids], f.ext[uids])


class MeasuredFacts:
    """Facts of the bytes actually written, indexed by file id."""

    def __init__(self, md5_hex: list[str], sizes: np.ndarray) -> None:
        self._md5 = pa.array(md5_hex, pa.string())
        self._sizes = np.asarray(sizes, dtype=np.int64)

    def md5(self, uids: np.ndarray) -> pa.Array:
        return self._md5.take(pa.array(uids))

    def size(self, uids: np.ndarray) -> np.ndarray:
        return self._sizes[uids]
