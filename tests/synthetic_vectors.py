"""Synthetic embeddings with known near-duplicates, for tests and benchmarks.

Real image embeddings are not uniform noise: they share a common direction, crowd around
content clusters, and near-duplicates (re-encodes, resizes, crops) sit very close to their
original. These generators reproduce that shape from a seed, so checks are repeatable.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_BLOCK = 1 << 16


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def noisy_copies(
    vectors: np.ndarray, noise: float | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Unit vectors near `vectors`: cosine to the original is about 1 / sqrt(1 + noise**2)
    (`noise` a number, or a column of one per row)."""
    ndim = vectors.shape[1]
    jitter = rng.standard_normal(vectors.shape, dtype=np.float32) * (noise / np.sqrt(ndim))
    return normalize_rows(vectors + jitter)


def duplicate_groups(
    group_sizes: list[int],
    n_unrelated: int,
    ndim: int,
    seed: int,
    noise: float = 0.1,
) -> tuple[list[str], np.ndarray, list[list[str]]]:
    """Groups of near-copies of random originals, plus unrelated vectors.

    Returns (keys, unit vectors, the keys of each group). With the default noise two members of
    a group have cosine about 0.99, while unrelated random vectors in `ndim` dimensions have
    cosine near 0 (standard deviation 1/sqrt(ndim)).
    """
    rng = np.random.default_rng(seed)
    originals = normalize_rows(rng.standard_normal((len(group_sizes), ndim)))
    keys: list[str] = []
    parts: list[np.ndarray] = []
    groups: list[list[str]] = []
    for group, size in enumerate(group_sizes):
        members = [f"dup{group:04d}_{member}" for member in range(size)]
        parts.append(
            noisy_copies(np.repeat(originals[group : group + 1], size, axis=0), noise, rng)
        )
        keys += members
        groups.append(members)
    keys += [f"solo{i:05d}" for i in range(n_unrelated)]
    parts.append(normalize_rows(rng.standard_normal((n_unrelated, ndim))))
    return keys, np.concatenate(parts).astype(np.float32), groups


def clustered_vectors(
    n: int, ndim: int, seed: int, n_centers: int | None = None, spread: float = 0.6
) -> np.ndarray:
    """`n` unit vectors shaped like image embeddings: shared direction + cluster + noise.

    Nearest-neighbour cosines come out around 0.7-0.8 and random pairs around 0.2, similar to
    CLIP image embeddings. Generated in blocks so a million 512-d vectors fit in memory once.
    """
    return clustered_vectors_and_clusters(n, ndim, seed, n_centers, spread)[0]


def clustered_vectors_and_clusters(
    n: int, ndim: int, seed: int, n_centers: int | None = None, spread: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """`clustered_vectors` and the cluster of each vector (int32)."""
    rng = np.random.default_rng(seed)
    n_centers = n_centers or max(n // 100, 10)
    common = normalize_rows(rng.standard_normal((1, ndim)))[0]
    centers = normalize_rows(rng.standard_normal((n_centers, ndim)))
    out = np.empty((n, ndim), dtype=np.float32)
    clusters = np.empty(n, dtype=np.int32)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        assign = rng.integers(0, n_centers, stop - start)
        noise = rng.standard_normal((stop - start, ndim), dtype=np.float32)
        block = 0.5 * common + 0.8 * centers[assign] + noise * (spread / np.sqrt(ndim))
        out[start:stop] = normalize_rows(block)
        clusters[start:stop] = assign
    return out, clusters


def embeddings_table(keys: list[str], vectors: np.ndarray) -> pa.Table:
    """An (image_key, embedding fixed_size_list<float32>[d]) table, as the embedder writes it."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    flat = pa.array(vectors.reshape(-1), pa.float32())
    return pa.table(
        {
            "image_key": pa.array(keys, pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]),
        }
    )
