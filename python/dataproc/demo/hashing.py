"""Counter-based random numbers: each value is a pure function of (seed, stream, keys).

The demo lake is built in slices (parquet parts, image batches), and a picture's attributes must
not depend on which slice asks for them or in what order. Hashing the keys with a splitmix64 mixer
gives that, fully vectorized, with no generator state to thread through the code.
"""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_KEY_OFFSET = np.uint64(0x632BE59BD9B4E019)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
WEIGHT_TABLE = 1 << 16


def _mix(x: np.ndarray, tmp: np.ndarray) -> None:
    """The splitmix64 finalizer, in place (wrapping uint64 arithmetic; `tmp` is scratch)."""
    np.right_shift(x, np.uint64(30), out=tmp)
    x ^= tmp
    x *= _M1
    np.right_shift(x, np.uint64(27), out=tmp)
    x ^= tmp
    x *= _M2
    np.right_shift(x, np.uint64(31), out=tmp)
    x ^= tmp


def hash64(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """64 random bits per element of the broadcast keys, for one named stream."""
    start = (seed & 0xFFFFFFFFFFFFFFFF) ^ (zlib.crc32(stream.encode()) << 32)
    arrays = [np.asarray(key) for key in keys]
    shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
    h = np.full(shape or (1,), start, dtype=np.uint64)
    tmp = np.empty_like(h)
    with np.errstate(over="ignore"):
        h += _GOLDEN
        _mix(h, tmp)
        for key in arrays:
            np.copyto(tmp, key, casting="unsafe")
            tmp *= _GOLDEN
            tmp += _KEY_OFFSET
            h ^= tmp
            _mix(h, tmp)
    return h


def uniform(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """Floats in [0, 1)."""
    return (hash64(seed, stream, *keys) >> np.uint64(11)).astype(np.float64) * (2.0**-53)


def normal(seed: int, stream: str, *keys: np.ndarray | int) -> np.ndarray:
    """Standard normal floats (Box-Muller over two derived streams)."""
    u1 = uniform(seed, stream + "#1", *keys)
    u2 = uniform(seed, stream + "#2", *keys)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def integers(seed: int, stream: str, low: int, high: int, *keys: np.ndarray | int) -> np.ndarray:
    """Integers in [low, high)."""
    return low + np.floor(uniform(seed, stream, *keys) * (high - low)).astype(np.int64)


def weighted(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Indices into `weights` drawn from uniforms `u` (inverse CDF through a lookup table).

    The table has `WEIGHT_TABLE` cells, so weights are honoured to about 1/65536; a gather is far
    faster than a binary search per draw.
    """
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    cells = (np.arange(WEIGHT_TABLE, dtype=np.float64) + 0.5) / WEIGHT_TABLE
    table = np.minimum(np.searchsorted(cdf / cdf[-1], cells, side="right"), len(cdf) - 1)
    return table.astype(np.int32)[(np.asarray(u) * WEIGHT_TABLE).astype(np.int64)].astype(np.int64)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sort + neighbour compare; faster than a hash set at this scale)."""
    ordered = np.sort(values, kind="stable")
    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def hex_strings(words: np.ndarray) -> pa.StringArray:
    """Rows of uint64 words, shape (n, k), as fixed-width lowercase hex strings (16k chars)."""
    words = np.ascontiguousarray(words.astype(">u8"))
    n, k = words.shape
    raw = words.view(np.uint8).reshape(n, 8 * k)
    out = np.empty((n, 16 * k), dtype=np.uint8)
    out[:, 0::2] = _HEX[raw >> 4]
    out[:, 1::2] = _HEX[raw & 15]
    offsets = np.arange(0, n * 16 * k + 1, 16 * k, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out.tobytes())]
    )


def fake_md5(seed: int, file_uid: np.ndarray) -> pa.StringArray:
    """Deterministic md5-shaped hex digests for files that are never written (metadata-only)."""
    hi = hash64(seed, "md5.hi", file_uid)
    lo = hash64(seed, "md5.lo", file_uid)
    return hex_strings(np.stack([hi, lo], axis=1))
