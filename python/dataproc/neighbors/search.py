"""Queries against the index: every neighbour above a cosine threshold, then the k best.

The index proposes candidates; every score that decides anything is the exact cosine of the
input vectors (`Embeddings.cosines`). A query whose candidates all still pass the threshold is
asked again for twice as many (up to `IndexSettings.max_candidates`), so dense groups of
near-duplicates are not cut at an arbitrary index-dependent point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dataproc.neighbors.settings import IndexSettings
from dataproc.neighbors.vectors import Embeddings

_QUERY_BLOCK = 4096


@dataclass(frozen=True)
class DirectedPairs:
    """Rows (query, neighbour, exact cosine), as row numbers of an `Embeddings`."""

    query: np.ndarray
    neighbor: np.ndarray
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
            np.concatenate([p.neighbor for p in parts]),
            np.concatenate([p.score for p in parts]),
        )

    def take(self, mask_or_index: np.ndarray) -> DirectedPairs:
        return DirectedPairs(
            self.query[mask_or_index], self.neighbor[mask_or_index], self.score[mask_or_index]
        )


def neighbors_above(
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
    while len(pending) and count > 0:
        saturated: list[np.ndarray] = []
        for start in range(0, len(pending), _QUERY_BLOCK):
            block = pending[start : start + _QUERY_BLOCK]
            pairs, full = _search_block(
                index, row_of_label, embeddings, block, count, floor, settings.search_threads
            )
            found.append(pairs)
            saturated.append(block[full])
        pending = np.concatenate(saturated) if saturated else pending[:0]
        widest = min(settings.max_candidates, len(index))
        if count >= widest:
            break
        count = min(count * 2, widest)
        if len(pending):
            # Saturated queries are asked again from scratch: drop their partial results.
            found = [p.take(~np.isin(p.query, pending)) for p in found]
    pairs = DirectedPairs.concat(found)
    scores = embeddings.cosines(pairs.query, pairs.neighbor)
    return DirectedPairs(pairs.query, pairs.neighbor, scores).take(scores >= threshold)


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
    result = index.search(embeddings.matrix[rows], count=count, threads=threads)
    labels = np.asarray(result.keys).reshape(len(rows), -1)
    similarity = 1.0 - np.asarray(result.distances, dtype=np.float64).reshape(len(rows), -1)
    valid = np.arange(labels.shape[1])[None, :] < np.asarray(result.counts)[:, None]
    neighbor = np.where(valid, row_of_label[np.where(valid, labels, 0).astype(np.int64)], -1)
    query = np.broadcast_to(rows[:, None], neighbor.shape)
    keep = valid & (similarity >= floor) & (neighbor != query)
    full = valid.all(axis=1) & (similarity[:, -1] >= floor)
    pairs = DirectedPairs(query[keep], neighbor[keep], np.zeros(int(keep.sum())))
    return pairs, full


def top_k(pairs: DirectedPairs, k: int) -> DirectedPairs:
    """For each query, its `k` best neighbours: highest score first, ties by lower row (key)."""
    order = np.lexsort((pairs.neighbor, -pairs.score, pairs.query))
    ranked = pairs.take(order)
    if not len(ranked):
        return ranked
    starts = np.flatnonzero(np.r_[True, ranked.query[1:] != ranked.query[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(ranked)]))
    return ranked.take(np.arange(len(ranked)) - group_start < k)
