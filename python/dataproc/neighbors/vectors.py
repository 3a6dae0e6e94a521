"""Embeddings as a key-sorted float32 matrix, and exact pair cosines.

Every later step addresses a vector by its row in this matrix. Rows are in ascending key order,
so a row number is also a key rank: sorting or tie-breaking by row is sorting by key, and it is the
same whichever batch a key arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

KEY_COLUMN = "image_key"
VECTOR_COLUMN = "embedding"
_BLOCK_PAIRS = 1 << 15


@dataclass(frozen=True)
class Embeddings:
    """Unique keys in ascending order, their vectors, and the vectors' L2 norms.

    Attributes:
        keys: string keys, ascending and unique.
        matrix: float32 array of shape (len(keys), ndim); row i is the vector of keys[i].
        norms: float64 L2 norm of each row (used to turn dot products into exact cosines).
    """

    keys: pa.StringArray
    matrix: np.ndarray
    norms: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def ndim(self) -> int:
        return int(self.matrix.shape[1])

    def rows_of(self, keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Row of each key (int64), -1 where the key has no embedding."""
        found = pc.index_in(keys, value_set=self.keys)
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def cosines(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Exact cosine (float64) of each (left[i], right[i]) pair of rows.

        Each pair is computed in float64 with a summation order fixed by the dimension alone, so
        a pair's score does not depend on which other pairs are computed with it, on the order of
        its two rows, or on how the work is split: incremental and full runs agree bit for bit.
        """
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        out = np.empty(len(left), dtype=np.float64)
        for start in range(0, len(left), _BLOCK_PAIRS):
            stop = start + _BLOCK_PAIRS
            a = self.matrix[left[start:stop]].astype(np.float64)
            b = self.matrix[right[start:stop]].astype(np.float64)
            dots = _row_sums(a * b)
            out[start:stop] = dots / (self.norms[left[start:stop]] * self.norms[right[start:stop]])
        return out


def embeddings_from_table(
    table: pa.Table, key_column: str = KEY_COLUMN, vector_column: str = VECTOR_COLUMN
) -> Embeddings:
    """Validate an Arrow table of (key, vector) rows and sort it by key.

    The vector column may be a fixed-size or variable-size list of floats; all vectors must have
    the same length. Null or duplicate keys, null or non-finite vectors and zero vectors are
    rejected: the caller is expected to drop failed embeddings first and account for them.
    """
    for name in (key_column, vector_column):
        if name not in table.column_names:
            raise ValueError(f"embeddings table has no column {name!r}")
    keys = table.column(key_column).cast(pa.string()).combine_chunks()
    if keys.null_count:
        raise ValueError(f"{keys.null_count} embedding rows have a null {key_column}")
    order = pc.sort_indices(keys)
    keys = keys.take(order)
    if len(keys) > 1:
        repeated = pc.equal(keys[1:], keys[:-1])
        if pc.any(repeated).as_py():
            first = keys[1:].filter(repeated)[0].as_py()
            raise ValueError(f"duplicate {key_column} in embeddings, e.g. {first!r}")
    matrix = _vector_matrix(table.column(vector_column).combine_chunks().take(order), vector_column)
    if not np.isfinite(matrix).all():
        raise ValueError(f"{vector_column} holds NaN or infinite values")
    norms = _row_norms(matrix)
    if len(norms) and not (norms > 0).all():
        raise ValueError(f"{vector_column} holds zero vectors, which have no cosine")
    return Embeddings(keys=keys, matrix=matrix, norms=norms)


def _vector_matrix(vectors: pa.Array, name: str) -> np.ndarray:
    """A C-contiguous float32 (n, ndim) matrix from a list-of-floats Arrow array."""
    if not (
        pa.types.is_fixed_size_list(vectors.type)
        or pa.types.is_list(vectors.type)
        or pa.types.is_large_list(vectors.type)
    ):
        raise ValueError(f"{name} must be a list of floats, got {vectors.type}")
    if vectors.null_count:
        raise ValueError(f"{vectors.null_count} rows have a null {name}")
    n = len(vectors)
    if pa.types.is_fixed_size_list(vectors.type):
        ndim = vectors.type.list_size
    else:
        lengths = pc.list_value_length(vectors).to_numpy(zero_copy_only=False)
        ndim = int(lengths[0]) if n else 0
        if n and not (lengths == ndim).all():
            raise ValueError(f"{name} vectors differ in length")
    values = vectors.flatten()
    if not pa.types.is_floating(values.type):
        raise ValueError(f"{name} must hold floats, got {values.type}")
    if values.null_count:
        raise ValueError(f"{name} holds null elements")
    flat = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return np.ascontiguousarray(flat.reshape(n, ndim))


def _row_norms(matrix: np.ndarray) -> np.ndarray:
    """float64 L2 norm of each row, computed in blocks to bound memory."""
    norms = np.empty(len(matrix), dtype=np.float64)
    for start in range(0, len(matrix), _BLOCK_PAIRS):
        block = matrix[start : start + _BLOCK_PAIRS].astype(np.float64)
        norms[start : start + _BLOCK_PAIRS] = np.sqrt(_row_sums(block * block))
    return norms


def _row_sums(values: np.ndarray) -> np.ndarray:
    """Sum each row of a 2-D float64 array by repeated halving (a fixed pairwise tree).

    `ndarray.sum` may pick its loop order from the array's shape, so the same row could round
    differently in a block of one and in a block of many. Element-wise adds of two halves have
    no such freedom: the result of a row depends on that row only.
    """
    while values.shape[1] > 1:
        half = values.shape[1] // 2
        summed = values[:, :half] + values[:, half : 2 * half]
        if values.shape[1] % 2:
            summed = np.concatenate([summed, values[:, 2 * half :]], axis=1)
        values = summed
    return values[:, 0].copy() if values.shape[1] else np.zeros(len(values))
