"""The cluster-size guard: re-split components that grew past `max_cluster_size`, and report it.

A component that big is almost always a chain of weak links (near-duplicate edges hopping
from picture to picture), not one image posted many times. The guard cuts it in two stages:

1. **Stricter threshold.** Only edges with `score >= split_threshold` are kept; the component
   falls apart into the components of what remains. Parts that now fit are final
   (reason `split_threshold`).
2. **Weakest edges first.** A part that is still too big loses its weakest remaining evidence
   level, then the next, and so on, until every piece fits (reason `weakest_edges`). A level is
   one (kind, score) value; edges are ordered by kind rank first (embedding < source_url <
   pixiv_id < md5) and then by score, and all edges of one level are dropped together, so ties
   never depend on input order. In the limit only md5 edges remain, and then none: singletons.

This is a single-linkage cut: each final part is the largest connected piece, at the weakest
evidence level it can keep, that still fits. It is computed bottom-up with a union-find over
levels from strongest to weakest: a merge that would overflow freezes its pieces instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dataproc.identity.components import canonical_labels
from dataproc.identity.graph import IdentityGraph

REASON_THRESHOLD = "split_threshold"
REASON_WEAKEST = "weakest_edges"

SPLITS_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("component_key", pa.string(), nullable=False),
        pa.field("component_size", pa.int64(), nullable=False),
        pa.field("part_key", pa.string(), nullable=False),
        pa.field("part_size", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("cut_kind", pa.string()),
        pa.field("cut_score", pa.float64(), nullable=False),
    ]
)

Level = tuple[int, float]


@dataclass(frozen=True)
class GuardResult:
    """Cluster labels after the guard, which nodes were split, and the split report."""

    labels: np.ndarray
    was_split: np.ndarray
    splits: pa.Table


class _Forest:
    """Union-find over the nodes of one component, with frozen (final) roots."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.size = [1] * size
        self.frozen: dict[int, Level] = {}

    def find(self, node: int) -> int:
        parent = self.parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def merge(self, roots: list[int]) -> None:
        """Join `roots` under the smallest of them."""
        target = min(roots)
        for root in roots:
            if root != target:
                self.parent[root] = target
                self.size[target] += self.size[root]


def _group_roots(forest: _Forest, left: np.ndarray, right: np.ndarray) -> list[list[int]]:
    """Groups of current roots that the given edges would join (groups of two or more)."""
    link: dict[int, int] = {}

    def find(node: int) -> int:
        link.setdefault(node, node)
        while link[node] != node:
            link[node] = link[link[node]]
            node = link[node]
        return node

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(forest.find(a)), find(forest.find(b))
        if ra != rb:
            link[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for root in link:
        groups.setdefault(find(root), []).append(root)
    return [members for members in groups.values() if len(members) > 1]


def cut_component(
    size: int,
    left: np.ndarray,
    right: np.ndarray,
    rank: np.ndarray,
    score: np.ndarray,
    max_cluster_size: int,
    split_threshold: float,
) -> tuple[np.ndarray, dict[int, Level]]:
    """Split one oversized component (nodes `0..size-1`); see the module docstring.

    Returns each node's part root (the part's smallest node) and, for parts formed by dropping
    weakest edges, the (rank, score) level that was dropped to form them.
    """
    keep = score >= split_threshold
    left, right, rank, score = left[keep], right[keep], rank[keep], score[keep]
    order = np.lexsort((-score, -rank))
    left, right, rank, score = left[order], right[order], rank[order], score[order]
    bounds = np.flatnonzero((rank[1:] != rank[:-1]) | (score[1:] != score[:-1])) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(left)]]).astype(np.int64)

    forest = _Forest(size)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if start == end:
            continue
        level: Level = (int(rank[start]), float(score[start]))
        for group in _group_roots(forest, left[start:end], right[start:end]):
            too_big = sum(forest.size[root] for root in group) > max_cluster_size
            if too_big or any(root in forest.frozen for root in group):
                for root in group:
                    forest.frozen.setdefault(root, level)
            else:
                forest.merge(group)
    roots = np.array([forest.find(node) for node in range(size)], dtype=np.int64)
    return roots, forest.frozen


def _empty_splits() -> pa.Table:
    return SPLITS_SCHEMA.empty_table()


def split_oversized(
    graph: IdentityGraph,
    labels: np.ndarray,
    max_cluster_size: int,
    split_threshold: float,
) -> GuardResult:
    """Apply the guard to every component larger than `max_cluster_size`.

    `labels` are canonical component labels of `graph`'s nodes. The result's labels are canonical
    again, and the report has one row per member of every split component.
    """
    if max_cluster_size < 1:
        raise ValueError(f"max_cluster_size must be at least 1, got {max_cluster_size}")
    num_nodes = graph.num_nodes
    sizes = np.bincount(labels, minlength=1) if num_nodes else np.zeros(0, np.int64)
    oversized = np.flatnonzero(sizes > max_cluster_size)
    was_split = np.zeros(num_nodes, dtype=bool)
    if len(oversized) == 0:
        return GuardResult(labels=labels, was_split=was_split, splits=_empty_splits())

    node_order = np.argsort(labels, kind="stable")
    node_starts = np.concatenate([[0], np.cumsum(sizes)])
    edge_comp = labels[graph.left]
    edge_sel = np.flatnonzero(np.isin(edge_comp, oversized))
    edge_sel = edge_sel[np.argsort(edge_comp[edge_sel], kind="stable")]
    edge_sel_comp = edge_comp[edge_sel]

    new_labels = labels.copy()
    next_label = len(sizes)
    report = _ReportBuilder(graph.kind_names, split_threshold)
    for comp in oversized.tolist():
        members = node_order[node_starts[comp] : node_starts[comp + 1]]
        lo, hi = np.searchsorted(edge_sel_comp, [comp, comp + 1])
        edges = edge_sel[lo:hi]
        roots, frozen = cut_component(
            len(members),
            np.searchsorted(members, graph.left[edges]),
            np.searchsorted(members, graph.right[edges]),
            graph.rank[edges],
            graph.score[edges],
            max_cluster_size,
            split_threshold,
        )
        part_ids, part_index = np.unique(roots, return_inverse=True)
        new_labels[members] = next_label + part_index.reshape(-1)
        next_label += len(part_ids)
        was_split[members] = True
        report.add(members, roots, frozen)

    return GuardResult(
        labels=canonical_labels(new_labels),
        was_split=was_split,
        splits=report.table(graph.keys),
    )


class _ReportBuilder:
    """Collects split report rows as node indices; keys are attached once at the end."""

    def __init__(self, kind_names: Mapping[int, str], split_threshold: float) -> None:
        self.kind_names = kind_names
        self.split_threshold = split_threshold
        self.indices: dict[str, list[np.ndarray]] = {
            name: [] for name in ("node", "component", "component_size", "part", "part_size")
        }
        self.levels: list[Level | None] = []

    def add(self, members: np.ndarray, roots: np.ndarray, frozen: Mapping[int, Level]) -> None:
        """Rows for one split component; `members` are sorted global node indices."""
        count = len(members)
        self.indices["node"].append(members)
        self.indices["component"].append(np.full(count, members[0], dtype=np.int64))
        self.indices["component_size"].append(np.full(count, count, dtype=np.int64))
        self.indices["part"].append(members[roots])
        self.indices["part_size"].append(np.bincount(roots, minlength=count)[roots])
        self.levels += [frozen.get(root) for root in roots.tolist()]

    def table(self, keys: pa.StringArray) -> pa.Table:
        """The report, sorted by image key (node order is key order)."""
        column = {name: np.concatenate(parts) for name, parts in self.indices.items()}
        order = np.argsort(column["node"], kind="stable")
        levels = [self.levels[i] for i in order.tolist()]
        return pa.table(
            {
                "image_key": keys.take(column["node"][order]),
                "component_key": keys.take(column["component"][order]),
                "component_size": column["component_size"][order].astype(np.int64),
                "part_key": keys.take(column["part"][order]),
                "part_size": column["part_size"][order].astype(np.int64),
                "reason": [REASON_THRESHOLD if lv is None else REASON_WEAKEST for lv in levels],
                "cut_kind": [None if lv is None else self.kind_names[lv[0]] for lv in levels],
                "cut_score": [self.split_threshold if lv is None else lv[1] for lv in levels],
            },
            schema=SPLITS_SCHEMA,
        )
