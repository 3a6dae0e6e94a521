"""Near-duplicate edges between images from their embeddings: `int_identity_embedding_edges`.

In: a stream of the embeddings of one model tag (image_key, embedding, model_tag)
and the stage's vars (`NearDuplicateSettings`). Out: identity edges of kind `embedding`
(left_key, right_key, kind, score), the USearch index kept under `state/index/<model_tag>/` and
kept up to date by each run.

Definition (what a full run computes): for every key q, take the keys the index finds with exact
cosine >= threshold, keep q's `k` best of them (highest cosine, ties by lower key), and emit the
undirected pair {q, neighbour}. A pair appears once, with left_key < right_key, and its score is
the exact cosine of the two input vectors, so it never depends on index approximation.

Incremental runs equal a full run. With a persisted index, a later call removes the keys that
left the input from the index and adds only keys the index lacks. A key's k best above the
threshold can only change if a new key scores >= threshold with it (a new key below the
threshold can only displace neighbours that were below it too) or if one of its stored k best
left. So a run re-queries the new keys, every key a new key reaches at the threshold and every
key whose stored rows name a removed key, and reuses the stored neighbour rows of all other
keys. A change to the build settings or the dimension rebuilds the index; a change to k or the
threshold re-queries every key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.config import require
from dataproc.lake import Lake
from dataproc.neighbours.search import (
    DirectedPairs,
    Embeddings,
    IndexSettings,
    add_vectors,
    embeddings_from_batches,
    embeddings_from_table,
    neighbours_above,
    top_k,
)
from dataproc.neighbours.state import (
    PAIRS_SCHEMA,
    IndexState,
    load_index_state,
    save_index_state,
)

EDGE_KIND = "embedding"
EDGE_SCHEMA = pa.schema(
    [
        ("left_key", pa.string()),
        ("right_key", pa.string()),
        ("kind", pa.string()),
        ("score", pa.float64()),
    ]
)


@dataclass(frozen=True)
class NearDuplicateSettings:
    """The vars of `int_identity_embedding_edges`."""

    near_dup_threshold: float
    near_dup_neighbors: int

    def __post_init__(self) -> None:
        threshold, k = self.near_dup_threshold, self.near_dup_neighbors
        require(-1.0 <= threshold <= 1.0, "near_dup_threshold", "a cosine in [-1, 1]", threshold)
        require(k >= 1, "near_dup_neighbors", "at least 1", k)


def embedding_edges(
    embeddings: pa.RecordBatchReader, settings: NearDuplicateSettings, lake: Lake
) -> pa.Table:
    """`int_identity_embedding_edges`: pairs with cosine >= `near_dup_threshold`.

    `embeddings` (image_key, embedding, model_tag), in any order, must be of one model tag;
    its index persists under `state/index/<model_tag>/` of `lake` and follows the input.
    """
    tags: set[str] = set()

    def keys_and_vectors() -> Iterator[pa.RecordBatch]:
        for batch in embeddings:
            tags.update(pc.unique(batch.column("model_tag")).drop_null().to_pylist())
            yield batch.select(["image_key", "embedding"])

    vectors = embeddings_from_batches(keys_and_vectors())
    if not tags:
        return EDGE_SCHEMA.empty_table()
    if len(tags) > 1:
        raise ValueError(f"embeddings of several model tags cannot be compared: {sorted(tags)}")
    return find_near_duplicates(
        vectors,
        settings.near_dup_threshold,
        k=settings.near_dup_neighbors,
        lake=lake,
        model_tag=tags.pop(),
    ).edges


@dataclass
class NeighbourRun:
    """Edges of one run and what the run did, for logging and accounting.

    Attributes:
        edges: EDGE_SCHEMA table, sorted by (left_key, right_key).
        keys: number of embeddings in the input.
        added: keys inserted into the index by this run.
        removed: keys removed from the index by this run (they left the input).
        queried: keys whose neighbours were searched by this run.
        rebuilt: why the index was built from scratch ("" when an existing one was extended).
        generation: committed generation of the persisted index (0 when not persisted).
    """

    edges: pa.Table
    keys: int
    added: int
    removed: int
    queried: int
    rebuilt: str
    generation: int = 0


def near_duplicate_edges(
    embeddings: pa.Table | Embeddings,
    threshold: float,
    *,
    k: int = 10,
    settings: IndexSettings | None = None,
    lake: Lake | None = None,
    model_tag: str | None = None,
) -> pa.Table:
    """Near-duplicate pairs among `embeddings` (image_key, embedding) with cosine >= threshold.

    `embeddings` must hold every embedding of one model tag that identity should consider (not
    just the new ones). With `lake` and `model_tag`, the index persists under
    `state/index/<model_tag>/` and later calls extend it; without them the index lives in memory
    for this call only. The result is the same either way.

    Returns a table `left_key`, `right_key`, `kind` ('embedding'), `score` (float64 cosine),
    with left_key < right_key, one row per pair, sorted by (left_key, right_key).
    """
    return find_near_duplicates(
        embeddings, threshold, k=k, settings=settings, lake=lake, model_tag=model_tag
    ).edges


def find_near_duplicates(
    embeddings: pa.Table | Embeddings,
    threshold: float,
    *,
    k: int = 10,
    settings: IndexSettings | None = None,
    lake: Lake | None = None,
    model_tag: str | None = None,
) -> NeighbourRun:
    """`near_duplicate_edges` with a report of what the run did (see `NeighbourRun`)."""
    settings = settings or IndexSettings()
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a cosine in [-1, 1], got {threshold}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if (lake is None) != (model_tag is None):
        raise ValueError("pass both lake and model_tag to persist the index, or neither")
    vectors = (
        embeddings if isinstance(embeddings, Embeddings) else embeddings_from_table(embeddings)
    )
    search = {"k": k, "threshold": float(threshold), "max_candidates": settings.max_candidates}
    previous = load_index_state(lake, model_tag) if lake is not None else None
    state, rebuilt = _reusable_state(previous, vectors, settings, search)
    removed = _remove_gone(state, vectors)
    new_rows = _add_missing(state, vectors, settings)
    row_of_label = np.full(state.next_label, -1, dtype=np.int64)
    row_of_label[state.labels.astype(np.int64)] = vectors.rows_of(state.keys)
    reuse_pairs = state.pairs is not None and state.search == search
    directed, queried = _directed_pairs(
        state, row_of_label, vectors, new_rows if reuse_pairs else None, threshold, k, settings
    )
    changed = bool(len(new_rows) or len(removed) or rebuilt or not reuse_pairs)
    state.pairs = _pairs_table(vectors, directed)
    state.search = search
    if lake is not None and changed:
        save_index_state(lake, model_tag, state)
    edges = undirected_edges(vectors, directed)
    return NeighbourRun(
        edges=edges,
        keys=len(vectors),
        added=len(new_rows),
        removed=len(removed),
        queried=queried,
        rebuilt=rebuilt,
        generation=state.generation,
    )


def _reusable_state(
    previous: IndexState | None,
    vectors: Embeddings,
    settings: IndexSettings,
    search: dict[str, Any],
) -> tuple[IndexState, str]:
    """The state to extend, and why it was rebuilt ("" if not)."""
    reason = ""
    if previous is None:
        reason = "no index"
    elif previous.build != settings.build_params():
        reason = "build settings changed"
    elif int(previous.index.ndim) != vectors.ndim:
        reason = "dimension changed"
    if not reason:
        return previous, ""
    empty = IndexState(
        index=settings.new_index(vectors.ndim),
        labels=np.empty(0, np.uint64),
        keys=pa.array([], pa.string()),
        next_label=0,
        build=settings.build_params(),
        pairs=None,
        search=search,
        generation=previous.generation if previous is not None else 0,
    )
    return empty, reason


def _remove_gone(state: IndexState, vectors: Embeddings) -> pa.Array:
    """Remove from the index the keys that left the input; returns those keys."""
    gone = vectors.rows_of(state.keys) < 0
    if not gone.any():
        return state.keys[:0]
    state.index.remove(state.labels[gone])
    removed = state.keys.filter(pa.array(gone))
    state.labels, state.keys = state.labels[~gone], state.keys.filter(pa.array(~gone))
    return removed


def _add_missing(state: IndexState, vectors: Embeddings, settings: IndexSettings) -> np.ndarray:
    """Insert rows whose key the index lacks; labels continue after `next_label`, in key order."""
    present = np.zeros(len(vectors), dtype=bool)
    present[vectors.rows_of(state.keys)] = True
    new_rows = np.flatnonzero(~present)
    if len(new_rows):
        labels = np.arange(state.next_label, state.next_label + len(new_rows), dtype=np.uint64)
        add_vectors(state.index, labels, vectors, new_rows, settings.build_threads)
        state.labels = np.concatenate([state.labels, labels])
        state.keys = pa.concat_arrays([state.keys, vectors.keys.take(pa.array(new_rows))])
        state.next_label += len(new_rows)
    return new_rows


def _directed_pairs(
    state: IndexState,
    row_of_label: np.ndarray,
    vectors: Embeddings,
    new_rows: np.ndarray | None,
    threshold: float,
    k: int,
    settings: IndexSettings,
) -> tuple[DirectedPairs, int]:
    """Each key's k best neighbours above the threshold, and how many keys were queried.

    With `new_rows` None every key is queried. Otherwise the new keys are queried first, then the
    old keys they reach at the threshold and the keys whose stored rows name a removed key, and
    stored rows of all remaining keys are reused.
    """
    start = 2 * k + 1
    if new_rows is None:
        everything = np.arange(len(vectors), dtype=np.int64)
        found = neighbours_above(
            state.index, row_of_label, vectors, everything, threshold, settings, start
        )
        return top_k(found, k), len(everything)
    from_new = neighbours_above(
        state.index, row_of_label, vectors, new_rows, threshold, settings, start
    )
    stored = _stored_pairs(state.pairs, vectors)
    stored = stored.take(stored.query >= 0)  # rows of removed keys go
    lost_neighbour = np.unique(stored.query[stored.neighbour < 0])
    reached = np.setdiff1d(np.union1d(from_new.neighbour, lost_neighbour), new_rows)
    from_reached = neighbours_above(
        state.index, row_of_label, vectors, reached, threshold, settings, start
    )
    requeried = np.union1d(new_rows, reached)
    kept = stored.take(~np.isin(stored.query, requeried))
    fresh = top_k(DirectedPairs.concat([from_new, from_reached]), k)
    return DirectedPairs.concat([kept, fresh]), len(requeried)


def _stored_pairs(pairs: pa.Table | None, vectors: Embeddings) -> DirectedPairs:
    """Stored directed rows as row numbers of `vectors`."""
    if pairs is None or not len(pairs):
        return DirectedPairs.empty()
    return DirectedPairs(
        vectors.rows_of(pairs.column("query_key")),
        vectors.rows_of(pairs.column("neighbor_key")),
        pairs.column("score").to_numpy(),
    )


def _pairs_table(vectors: Embeddings, pairs: DirectedPairs) -> pa.Table:
    """Directed rows as a key table (PAIRS_SCHEMA), sorted by (query, neighbour)."""
    order = np.lexsort((pairs.neighbour, pairs.query))
    ranked = pairs.take(order)
    return pa.table(
        {
            "query_key": vectors.keys.take(pa.array(ranked.query, pa.int64())),
            "neighbor_key": vectors.keys.take(pa.array(ranked.neighbour, pa.int64())),
            "score": pa.array(ranked.score, pa.float64()),
        },
        schema=PAIRS_SCHEMA,
    )


def undirected_edges(vectors: Embeddings, pairs: DirectedPairs) -> pa.Table:
    """One EDGE_SCHEMA row per unordered pair, left_key < right_key, sorted by both keys.

    Rows are in key order, so the smaller row is the smaller key. Both directions of a pair carry
    the same exact score, so deduplication cannot pick between two values.
    """
    left = np.minimum(pairs.query, pairs.neighbour)
    right = np.maximum(pairs.query, pairs.neighbour)
    code = left * max(len(vectors), 1) + right
    _, first = np.unique(code, return_index=True)
    left, right, score = left[first], right[first], pairs.score[first]
    return pa.table(
        {
            "left_key": vectors.keys.take(pa.array(left, pa.int64())),
            "right_key": vectors.keys.take(pa.array(right, pa.int64())),
            "kind": pa.repeat(pa.scalar(EDGE_KIND, pa.string()), len(left)),
            "score": pa.array(score, pa.float64()),
        },
        schema=EDGE_SCHEMA,
    )
