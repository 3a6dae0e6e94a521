"""Embeddings as vectors, the USearch index over them, and queries above a cosine threshold.

In: a stream of Arrow record batches of (image_key, embedding), in any order, and
`IndexSettings`. Out: `Embeddings` (key-sorted keys, their vectors and exact pair cosines) and
`DirectedPairs` (query row, neighbour row, exact cosine) for the rows asked about.

The vectors are written batch by batch, as they arrive, to a scratch file, so they are never all
in Python memory: the index build and the exact re-scoring read the rows they need from there
with `pread` (`Embeddings.vectors`), so the file's pages live in the kernel's file cache, never
in this process. Only the keys are sorted in memory.

Every later step addresses a vector by its row: its key's rank in ascending key order. Sorting
or tie-breaking by row is sorting by key, and it is the same whichever batch a key arrived in.

The index proposes candidates; every score that decides anything is the exact cosine of the
input vectors (`Embeddings.cosines`). A query whose candidates all still pass the threshold is
asked again for twice as many (up to `IndexSettings.max_candidates`), so its candidate set ends
below the threshold. The result of a query is then the exact set of keys above the threshold,
whatever graph the index holds, as long as the index finds every such key at that depth. That is
why a graph built with many threads (whose bytes differ from run to run) gives the same edges:
the thread schedule can only change which keys the index proposes, and it proposes them all as
long as its recall of pairs above the threshold is complete (`bench/neighbors.py` measures it).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.progress import progress_bar

KEY_COLUMN = "image_key"
VECTOR_COLUMN = "embedding"
METRICS = ("cos", "ip")
DTYPES = ("f32", "f16", "i8")
# Work is cut into blocks so that the copies a step makes (float64 pairs for exact scores, the
# candidates of a query block, the vectors of one `add`) stay small next to the index: at 512-d a
# block of pairs is ~50 MiB at most, a query block's candidates ~40 MiB, an add batch 64 MiB.
_BLOCK_PAIRS = 1 << 12
_QUERY_BLOCK = 4096
_QUERY_CANDIDATES = 1 << 20
_ADD_BATCH = 1 << 15

# Up to this many keys a query scans every stored vector (cheap at this size), so the edges of
# small lakes never depend on HNSW recall; above it the graph proposes the candidates.
EXACT_SEARCH_MAX_KEYS = 10_000
# How far the index's own similarity may sit below the exact cosine because of its storage type.
# Candidates within this slack of the threshold are re-scored exactly, so quantisation never
# drops a pair that passes. f16 keeps ~3 decimal digits per component (|error| << 0.01 on
# unit vectors); i8 is much coarser.
_SLACK_BY_DTYPE = {"f32": 1e-4, "f16": 1e-2, "i8": 1e-1}


# -- settings --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexSettings:
    """How the HNSW index is built and searched.

    The defaults are the ones `bench/neighbors.py` measured on clustered 512-d vectors with
    planted near-copies (see `bench/RESULTS.md`, section "neighbors"): the fastest build with
    complete recall of pairs above the threshold at 100k, and the search width whose pair recall
    at 1M reached 0.999 at cosine 0.95. Build parameters are baked into a
    persisted index; a change to any of them makes the next run rebuild the index rather than
    mix two graphs.

    Attributes:
        metric: `cos` (cosine) or `ip` (inner product; equal to cosine on L2-normalised input).
        dtype: storage type of vectors inside the index: `f32`, `f16` or `i8`. Scores are always
            recomputed exactly from the input float32 vectors, so the dtype only affects recall
            and speed, never a reported score; candidates within `score_slack` of the
            threshold are re-scored, so coarse storage cannot drop a pair either.
        connectivity: HNSW graph degree ("M").
        expansion_add: search width while inserting ("efConstruction").
        expansion_search: search width while querying ("ef"); a query that asks for more
            candidates than this searches at least that wide.
        max_candidates: cap on candidates fetched per query when a key has many neighbours above
            the threshold (dense duplicate groups). Below the cap, results are exact up to the
            index's recall; above it, a query keeps the index's best `max_candidates`.
        build_threads: threads used to insert vectors (0 = all cores), in one batched call. The
            graph's bytes depend on the thread schedule, the edges do not (see the module
            docstring). Not a build parameter: changing it does not force a rebuild.
        search_threads: threads used to query (0 = all cores). Queries do not change the graph,
            so searching is reproducible with any thread count.
    """

    metric: str = "cos"
    dtype: str = "i8"
    connectivity: int = 32
    expansion_add: int = 64
    # 512: pair recall 0.99985 at the 0.90 candidate floor at 1M (256 gave 0.9976; RESULTS.md).
    expansion_search: int = 512
    max_candidates: int = 1024
    build_threads: int = 0
    search_threads: int = 0

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        for name in ("connectivity", "expansion_add", "expansion_search", "max_candidates"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.build_threads < 0 or self.search_threads < 0:
            raise ValueError("build_threads and search_threads must be >= 0 (0 = all cores)")

    @property
    def score_slack(self) -> float:
        """Margin below the threshold at which index similarities are re-scored exactly."""
        return _SLACK_BY_DTYPE[self.dtype]

    def build_params(self) -> dict[str, Any]:
        """The parameters that shape the graph; a persisted index is reused only if they match."""
        return {
            key: value
            for key, value in asdict(self).items()
            if key in ("metric", "dtype", "connectivity", "expansion_add")
        }

    def new_index(self, ndim: int):
        """An empty USearch index for `ndim`-dimensional vectors with these settings."""
        from usearch.index import Index

        return Index(
            ndim=ndim,
            metric=self.metric,
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )


# -- vectors ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Embeddings:
    """Unique keys in ascending order, their vectors, and the vectors' L2 norms.

    Attributes:
        keys: string keys, ascending and unique; row i is keys[i].
        position: int64 record of the scratch file that holds the vector of each row (key rank).
        norms: float64 L2 norm of each row (used to turn dot products into exact cosines).
        ndim: the vectors' length.
        scratch: the unlinked scratch file of float32 records of `ndim` values, in arrival order
            (None when there are no rows); closed when this object is freed.
    """

    keys: pa.StringArray
    position: np.ndarray
    norms: np.ndarray
    ndim: int
    scratch: BinaryIO | None = None

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Size of all the vectors as float32 (what the scratch file holds)."""
        return len(self) * self.ndim * 4

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """A copy of the float32 vectors of `rows`, in that order.

        Read with `pread`, one call per run of consecutive records: the file's pages stay in the
        kernel's file cache and are never mapped into this process. (A memory map would map each
        fault's read-ahead window, megabytes, so copying a block of random rows mapped most of
        the file.) The resident set holds the index and the copies in use, not every vector.
        """
        records = self.position[np.asarray(rows, dtype=np.int64)]
        out = np.empty((len(records), self.ndim), np.float32)
        if not len(records) or not self.ndim:
            return out
        order = np.argsort(records, kind="stable")
        ordered = records[order]
        gathered = np.empty_like(out)
        runs = np.flatnonzero(np.diff(ordered) != 1) + 1
        record_bytes = self.ndim * 4
        for start, stop in zip(np.r_[0, runs], np.r_[runs, len(ordered)], strict=True):
            buffer = memoryview(gathered[start:stop]).cast("B")
            offset = int(ordered[start]) * record_bytes
            if os.preadv(self.scratch.fileno(), [buffer], offset) != len(buffer):
                raise OSError(f"short read from the vectors' scratch file at byte {offset}")
        out[order] = gathered
        return out

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
            a = self.vectors(left[start:stop]).astype(np.float64)
            b = self.vectors(right[start:stop]).astype(np.float64)
            dots = _row_sums(a * b)
            out[start:stop] = dots / (self.norms[left[start:stop]] * self.norms[right[start:stop]])
        return out


def embeddings_from_table(
    table: pa.Table, key_column: str = KEY_COLUMN, vector_column: str = VECTOR_COLUMN
) -> Embeddings:
    """`embeddings_from_batches` of one table."""
    for name in (key_column, vector_column):
        if name not in table.column_names:
            raise ValueError(f"embeddings table has no column {name!r}")
    return embeddings_from_batches(table.to_batches(), key_column, vector_column)


def embeddings_from_batches(
    batches: Iterable[pa.RecordBatch],
    key_column: str = KEY_COLUMN,
    vector_column: str = VECTOR_COLUMN,
) -> Embeddings:
    """Validate a stream of (key, vector) batches, in any order, into `Embeddings`.

    The vector column may be a fixed-size or variable-size list of floats; all vectors must have
    the same length. Null or duplicate keys, null or non-finite vectors and zero vectors are
    rejected: the caller is expected to drop failed embeddings first and account for them.
    """
    key_parts: list[pa.Array] = []
    norm_parts: list[np.ndarray] = []
    ndim = 0
    # Unlinked at once: the file goes when `Embeddings.scratch` is closed or freed.
    scratch = tempfile.TemporaryFile(prefix="dataproc-vectors-")  # noqa: SIM115 (outlives the call)
    try:
        for batch in batches:
            for name in (key_column, vector_column):
                if name not in batch.schema.names:
                    raise ValueError(f"embeddings have no column {name!r}")
            if not batch.num_rows:
                continue
            block = _vector_matrix(batch.column(vector_column), vector_column)
            if key_parts and block.shape[1] != ndim:
                raise ValueError(f"{vector_column} vectors differ in length")
            ndim = block.shape[1]
            if not np.isfinite(block).all():
                raise ValueError(f"{vector_column} holds NaN or infinite values")
            norms = _row_norms(block)
            if not (norms > 0).all():
                raise ValueError(f"{vector_column} holds zero vectors, which have no cosine")
            scratch.write(block.tobytes())
            # A copy: the batch's columns can share one allocation (DuckDB's export does), so
            # keeping a view of the keys would keep every vector of the batch alive too.
            key_parts.append(pa.concat_arrays([batch.column(key_column).cast(pa.string())]))
            norm_parts.append(norms)
        scratch.flush()
        keys = pa.concat_arrays(key_parts) if key_parts else pa.array([], pa.string())
        if keys.null_count:
            raise ValueError(f"{keys.null_count} embedding rows have a null {key_column}")
        order = pc.sort_indices(keys)
        keys = keys.take(order)
        if len(keys) > 1:
            repeated = pc.equal(keys[1:], keys[:-1])
            if pc.any(repeated).as_py():
                first = keys[1:].filter(repeated)[0].as_py()
                raise ValueError(f"duplicate {key_column} in embeddings, e.g. {first!r}")
        position = order.to_numpy().astype(np.int64)
        norms = np.concatenate(norm_parts)[position] if norm_parts else np.empty(0)
        if not len(keys):
            scratch.close()
            scratch = None
    except BaseException:
        scratch.close()
        raise
    return Embeddings(keys=keys, position=position, norms=norms, ndim=ndim, scratch=scratch)


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


# -- queries ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DirectedPairs:
    """Rows (query, neighbour, exact cosine), as row numbers of an `Embeddings`."""

    query: np.ndarray
    neighbour: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.query)

    @classmethod
    def empty(cls) -> DirectedPairs:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))

    @classmethod
    def concat(cls, parts: list[DirectedPairs]) -> DirectedPairs:
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.query for p in parts]),
            np.concatenate([p.neighbour for p in parts]),
            np.concatenate([p.score for p in parts]),
        )

    def take(self, mask_or_index: np.ndarray) -> DirectedPairs:
        return DirectedPairs(
            self.query[mask_or_index], self.neighbour[mask_or_index], self.score[mask_or_index]
        )


def neighbours_above(
    index: Any,
    row_of_label: np.ndarray,
    embeddings: Embeddings,
    query_rows: np.ndarray,
    threshold: float,
    settings: IndexSettings,
    start_count: int,
) -> DirectedPairs:
    """Every (query, neighbour) pair the index finds with exact cosine >= `threshold`.

    Args:
        index: the USearch index; its labels map to rows through `row_of_label`.
        row_of_label: row in `embeddings` of each index label.
        embeddings: all vectors, addressed by row.
        query_rows: rows to query; a query never lists itself as its own neighbour.
        threshold: minimum exact cosine.
        settings: search width, thread count, score slack and candidate cap.
        start_count: candidates asked for first; doubled for queries that saturate.
    """
    index.expansion_search = settings.expansion_search
    found: list[DirectedPairs] = []
    pending = np.asarray(query_rows, dtype=np.int64)
    count = min(max(start_count, 1), len(index))
    floor = threshold - settings.score_slack
    widest = min(settings.max_candidates, len(index))
    with progress_bar(len(pending), "searching the index", " queries") as bar:
        while len(pending) and count > 0:
            saturated: list[np.ndarray] = []
            step = min(_QUERY_BLOCK, max(_QUERY_CANDIDATES // count, 1))
            for start in range(0, len(pending), step):
                block = pending[start : start + step]
                pairs, full = _search_block(
                    index, row_of_label, embeddings, block, count, floor, settings.search_threads
                )
                if count < widest:
                    # Saturated queries are asked again wider: their partial results go.
                    saturated.append(block[full])
                    pairs = pairs.take(~np.isin(pairs.query, block[full]))
                # Scored block by block, so only the pairs that pass are kept, not every candidate.
                scores = embeddings.cosines(pairs.query, pairs.neighbour)
                found.append(
                    DirectedPairs(pairs.query, pairs.neighbour, scores).take(scores >= threshold)
                )
                bar.update(len(block))
            if count >= widest:
                break
            pending = np.concatenate(saturated) if saturated else pending[:0]
            count = min(count * 2, widest)
            bar.total += len(pending)
    return DirectedPairs.concat(found)


def _search_block(
    index: Any,
    row_of_label: np.ndarray,
    embeddings: Embeddings,
    rows: np.ndarray,
    count: int,
    floor: float,
    threads: int,
) -> tuple[DirectedPairs, np.ndarray]:
    """Candidates of `rows` whose index similarity reaches `floor` (scores not yet exact).

    Returns the candidate pairs and a mask of queries whose `count` candidates all reached
    `floor`, which may have more beyond.
    """
    # A small index is searched exhaustively: its candidates then depend on the vectors alone,
    # not on the graph a multi-threaded build happened to make.
    exact = len(index) <= EXACT_SEARCH_MAX_KEYS
    result = index.search(embeddings.vectors(rows), count=count, threads=threads, exact=exact)
    labels = np.asarray(result.keys).reshape(len(rows), -1)
    similarity = 1.0 - np.asarray(result.distances, dtype=np.float64).reshape(len(rows), -1)
    valid = np.arange(labels.shape[1])[None, :] < np.asarray(result.counts)[:, None]
    neighbour = np.where(valid, row_of_label[np.where(valid, labels, 0).astype(np.int64)], -1)
    query = np.broadcast_to(rows[:, None], neighbour.shape)
    keep = valid & (similarity >= floor) & (neighbour != query)
    full = valid.all(axis=1) & (similarity[:, -1] >= floor)
    pairs = DirectedPairs(query[keep], neighbour[keep], np.zeros(int(keep.sum())))
    return pairs, full


def add_vectors(
    index: Any, labels: np.ndarray, embeddings: Embeddings, rows: np.ndarray, threads: int
) -> None:
    """Insert the vectors of `rows` under `labels`, each batch in one call on `threads` threads
    (0 = all cores); batches bound the copy read from the vectors' scratch file."""
    with progress_bar(len(rows), "building the index", " vectors") as bar:
        for start in range(0, len(rows), _ADD_BATCH):
            batch = slice(start, start + _ADD_BATCH)
            index.add(labels[batch], embeddings.vectors(rows[batch]), threads=threads)
            bar.update(len(labels[batch]))


def top_k(pairs: DirectedPairs, k: int) -> DirectedPairs:
    """For each query, its `k` best neighbours: highest score first, ties by lower row (key)."""
    order = np.lexsort((pairs.neighbour, -pairs.score, pairs.query))
    ranked = pairs.take(order)
    if not len(ranked):
        return ranked
    starts = np.flatnonzero(np.r_[True, ranked.query[1:] != ranked.query[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(ranked)]))
    return ranked.take(np.arange(len(ranked)) - group_start < k)
