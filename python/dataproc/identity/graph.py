"""The identity graph: image keys as numbered nodes, evidence edges as deduplicated index pairs.

Nodes are numbered in sorted key order, so every later step (components, splits, ID minting)
sees the same numbering whatever order the input rows came in. Each unordered pair of nodes keeps
one edge: its strongest piece of evidence, ranked first by kind (exact bytes beat explicit links,
links beat visual similarity) and then by score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Evidence strength by edge kind, strongest highest. md5 is byte identity; pixiv_id is an explicit
# field a site filled in; source_url is parsed from free text; embedding is visual similarity.
DEFAULT_KIND_RANK: Mapping[str, int] = {
    "md5": 4,
    "pixiv_id": 3,
    "source_url": 2,
    "embedding": 1,
}


@dataclass(frozen=True)
class IdentityGraph:
    """Sorted unique node keys plus one strongest edge per node pair (`left < right`)."""

    keys: pa.StringArray
    left: np.ndarray
    right: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    kind_names: Mapping[int, str]

    @property
    def num_nodes(self) -> int:
        return len(self.keys)


def sorted_unique_keys(column: pa.ChunkedArray | pa.Array) -> pa.StringArray:
    """Distinct non-null keys in byte order (the node numbering)."""
    values = pc.unique(column.drop_null())
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return values.take(pc.array_sort_indices(values)).cast(pa.string())


def _kind_ranks(kinds: pa.ChunkedArray, kind_rank: Mapping[str, int]) -> np.ndarray:
    """Rank of every edge's kind; an unknown kind is an error, not a silent guess."""
    names = sorted(kind_rank)
    position = pc.index_in(kinds, value_set=pa.array(names, pa.string()))
    if position.null_count:
        unknown = sorted(set(pc.filter(kinds, pc.is_null(position)).to_pylist()), key=str)
        raise ValueError(f"unknown identity edge kind(s) {unknown}; known kinds: {names}")
    ranks = np.array([kind_rank[name] for name in names], dtype=np.int64)
    return ranks[position.to_numpy()]


def build_graph(
    nodes: pa.Table,
    edges: pa.Table,
    kind_rank: Mapping[str, int] = DEFAULT_KIND_RANK,
) -> IdentityGraph:
    """Number the nodes and reduce the edges to one strongest edge per pair.

    Edges that touch a key missing from `nodes`, and self-loops, are ignored: the node list says
    which images take part in this run. Duplicated and reversed edges collapse to one.
    """
    if len(set(kind_rank.values())) != len(kind_rank):
        raise ValueError("edge kind ranks must be distinct, so a cut level names one kind")
    keys = sorted_unique_keys(nodes["image_key"])
    if edges["score"].null_count:
        raise ValueError("identity edges must have a score (1.0 for md5 and link edges)")
    # Both ends in one lookup, so the hash table of the keys is built once.
    ends = pa.chunked_array(edges["left_key"].chunks + edges["right_key"].chunks, pa.string())
    positions = pc.fill_null(pc.index_in(ends, value_set=keys), -1).to_numpy()
    left, right = positions[: edges.num_rows], positions[edges.num_rows :]
    rank = _kind_ranks(edges["kind"], kind_rank) if edges.num_rows else np.zeros(0, np.int64)
    score = edges["score"].to_numpy().astype(np.float64, copy=False)

    valid = (left >= 0) & (right >= 0) & (left != right)
    lo = np.minimum(left, right)[valid].astype(np.int64)
    hi = np.maximum(left, right)[valid].astype(np.int64)
    rank, score = rank[valid], score[valid]

    # Per pair, strongest first (rank, then score); keep the first row of every pair.
    order = np.lexsort((-score, -rank, hi, lo))
    lo, hi, rank, score = lo[order], hi[order], rank[order], score[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return IdentityGraph(
        keys=keys,
        left=lo[first],
        right=hi[first],
        rank=rank[first],
        score=score[first],
        kind_names={value: name for name, value in kind_rank.items()},
    )
