"""The identity graph: image keys as nodes, evidence as edges, cut into size-guarded clusters.

In: `nodes` (`image_key`), `edges` (`left_key`, `right_key`, `kind`, `score`) and cannot-link
pairs (`left_key`, `right_key`, `reason`) as Arrow. Out: an `IdentityGraph`, a `Refusal` (the
graph without the edges that would join a cannot-link pair, and the report of those edges in
`REFUSED_SCHEMA`), canonical connected-component labels, and a `GuardResult` (final cluster
labels, which nodes were re-split, the split report in `SPLITS_SCHEMA`).

**Graph.** Nodes are numbered in sorted key order, so every later step (components, splits, ID
minting) sees the same numbering whatever order the input rows came in. Each unordered pair of
nodes keeps one edge: its strongest piece of evidence, ranked first by kind (exact bytes beat
explicit links, links beat visual similarity) and then by score.

**Cannot-links.** Two keys the raw data says are different pictures (a booru parent and
child, two pages of one pixiv work) never share a cluster. Edges are applied strongest first
(kind rank, then score, then node order, so ties never depend on input order) and an edge that
would join the clusters holding the two ends of a cannot-link pair is refused and reported with
that pair. Stronger evidence thus decides which side a picture joins; the refused edge is gone
for every later step, the guard included.

**Components.** Labels are renumbered so that label `c` is the c-th cluster ordered by smallest
image key: they do not depend on input order.

**Guard.** A component larger than `max_cluster_size` is almost always a chain of weak links
(near-duplicate edges hopping from picture to picture), not one image posted many times. The
guard cuts it in two stages:

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from dataproc.progress import progress

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
    """Distinct non-null keys in byte order (the node numbering).

    Keys that already come strictly increasing (nodes read with `order by image_key`) are
    checked in one vectorized pass and kept, instead of hashed and sorted again.
    """
    values = column.drop_null()
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    values = values.cast(pa.string())
    if len(values) < 2 or pc.all(pc.less(values[:-1], values[1:])).as_py():
        return values
    values = pc.unique(values)
    return values.take(pc.array_sort_indices(values))


def key_positions(keys: pa.StringArray, *columns: pa.ChunkedArray | pa.Array) -> list[np.ndarray]:
    """Every value of each column as its position in `keys`, -1 where absent or null.

    All columns go through one hash lookup: building the hash table of millions of keys costs
    more than probing it, so the graph's edges, the cannot-link pairs and the previous state's
    keys are looked up together.
    """
    chunks = [
        chunk.cast(pa.string())
        for column in columns
        for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column])
    ]
    probes = pa.chunked_array(chunks, pa.string())
    positions = pc.fill_null(pc.index_in(probes, value_set=keys), -1).to_numpy()
    bounds = np.cumsum([len(column) for column in columns])[:-1]
    return [part.astype(np.int64, copy=False) for part in np.split(positions, bounds)]


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
    keys = sorted_unique_keys(nodes["image_key"])
    ends = key_positions(keys, edges["left_key"], edges["right_key"])
    return graph_of(keys, edges, ends, kind_rank)


def graph_of(
    keys: pa.StringArray,
    edges: pa.Table,
    ends: Sequence[np.ndarray],
    kind_rank: Mapping[str, int] = DEFAULT_KIND_RANK,
) -> IdentityGraph:
    """`build_graph` over node keys already sorted and unique (`sorted_unique_keys`), with the
    edges' `key_positions` (left, right) among them, for a caller that looked the edges up
    together with other keys."""
    if len(set(kind_rank.values())) != len(kind_rank):
        raise ValueError("edge kind ranks must be distinct, so a cut level names one kind")
    if edges["score"].null_count:
        raise ValueError("identity edges must have a score (1.0 for md5 and link edges)")
    left, right = ends
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


# -- components ------------------------------------------------------------------------------
def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber cluster labels 0, 1, ... in order of each cluster's smallest member index.

    Nodes are numbered in sorted key order, so this makes label `c` mean "the c-th cluster when
    clusters are ordered by their smallest image key", whatever numbering the caller used.
    """
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    position = np.empty(len(first), dtype=np.int64)
    position[np.argsort(first, kind="stable")] = np.arange(len(first), dtype=np.int64)
    return position[inverse.reshape(-1)]


def component_labels(num_nodes: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Canonical connected-component label of every node of an undirected graph."""
    if num_nodes == 0:
        return np.zeros(0, dtype=np.int64)
    ones = np.ones(len(left), dtype=np.int8)
    graph = coo_matrix((ones, (left, right)), shape=(num_nodes, num_nodes)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return canonical_labels(labels)


def cluster_sizes(labels: np.ndarray) -> np.ndarray:
    """Size of the cluster of every node."""
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(labels)[labels].astype(np.int64)


# -- cannot-links ----------------------------------------------------------------------------
REFUSED_SCHEMA = pa.schema(
    [
        pa.field("left_key", pa.string(), nullable=False),
        pa.field("right_key", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("blocked_left_key", pa.string(), nullable=False),
        pa.field("blocked_right_key", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class CannotLinks:
    """Node pairs that must not share a cluster, as node indices, with their reasons."""

    left: np.ndarray
    right: np.ndarray
    reason: pa.StringArray

    @classmethod
    def of(
        cls,
        keys: pa.StringArray,
        pairs: pa.Table,
        ends: Sequence[np.ndarray] | None = None,
    ) -> CannotLinks:
        """The pairs of `pairs` (left_key, right_key, reason) whose both keys are nodes; `ends`
        as for `graph_of`, else looked up here."""
        if pairs.num_rows == 0:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), pa.array([], pa.string()))
        if ends is None:
            ends = key_positions(keys, pairs["left_key"], pairs["right_key"])
        left, right = ends
        valid = np.flatnonzero((left >= 0) & (right >= 0) & (left != right))
        return cls(
            left=np.minimum(left, right)[valid].astype(np.int64),
            right=np.maximum(left, right)[valid].astype(np.int64),
            reason=pairs["reason"].take(pa.array(valid)).combine_chunks().cast(pa.string()),
        )


@dataclass(frozen=True)
class Refusal:
    """The graph without its refused edges, and the report of what was refused."""

    graph: IdentityGraph
    refused: pa.Table


def edge_order(graph: IdentityGraph, edges: np.ndarray) -> np.ndarray:
    """`edges` (indices) strongest first: kind rank, then score, then the pair's node order."""
    keys = (graph.right[edges], graph.left[edges], -graph.score[edges], -graph.rank[edges])
    return edges[np.lexsort(keys)]


def refuse_cannot_links(graph: IdentityGraph, cannot: CannotLinks) -> Refusal:
    """Drop every edge that would put a cannot-link pair into one cluster.

    Edges are applied strongest first (`edge_order`) with a union-find whose every cluster
    knows the cannot-link pairs it holds one end of; an edge joining two clusters that hold
    the two ends of a pair is refused. Only components that contain a cannot-link pair need
    this; all other edges are kept as they are.
    """
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    inside = np.flatnonzero(labels[cannot.left] == labels[cannot.right])
    if len(inside) == 0:
        return Refusal(graph=graph, refused=REFUSED_SCHEMA.empty_table())
    constrained = np.isin(labels[graph.left], np.unique(labels[cannot.left[inside]]))
    parent: dict[int, int] = {}
    # Per cluster root: (own node, other end, pair index) of its cannot-link pairs.
    held: dict[int, list[tuple[int, int, int]]] = {}
    for pair in inside.tolist():
        a, b = int(cannot.left[pair]), int(cannot.right[pair])
        held.setdefault(a, []).append((a, b, pair))
        held.setdefault(b, []).append((b, a, pair))

    def find(node: int) -> int:
        root = node
        while parent.get(root, root) != root:
            root = parent[root]
        while node != root:
            parent[node], node = root, parent[node]
        return root

    refused: list[tuple[int, int]] = []  # (edge, blocking pair)
    for edge in edge_order(graph, np.flatnonzero(constrained)).tolist():
        ra, rb = find(int(graph.left[edge])), find(int(graph.right[edge]))
        if ra == rb:
            continue
        # Scan the shorter list of held pairs for an other end inside the other cluster.
        held_a, held_b = held.get(ra, []), held.get(rb, [])
        scan, other_root = (held_a, rb) if len(held_a) <= len(held_b) else (held_b, ra)
        blocking = next((pair for _, end, pair in scan if find(end) == other_root), None)
        if blocking is not None:
            refused.append((edge, blocking))
            continue
        target, source = min(ra, rb), max(ra, rb)
        parent[source] = target
        if source in held:
            held.setdefault(target, []).extend(held.pop(source))

    drop = np.array([edge for edge, _ in refused], dtype=np.int64)
    keep = np.ones(len(graph.left), dtype=bool)
    keep[drop] = False
    kept = IdentityGraph(
        keys=graph.keys,
        left=graph.left[keep],
        right=graph.right[keep],
        rank=graph.rank[keep],
        score=graph.score[keep],
        kind_names=graph.kind_names,
    )
    return Refusal(graph=kept, refused=_refused_table(graph, cannot, refused))


def _refused_table(
    graph: IdentityGraph, cannot: CannotLinks, refused: list[tuple[int, int]]
) -> pa.Table:
    """The refused edges with the pair that blocked each, sorted by the edge's keys."""
    refused = sorted(refused, key=lambda row: (graph.left[row[0]], graph.right[row[0]]))
    edges = np.array([edge for edge, _ in refused], dtype=np.int64)
    pairs = np.array([pair for _, pair in refused], dtype=np.int64)
    return pa.table(
        {
            "left_key": graph.keys.take(graph.left[edges]),
            "right_key": graph.keys.take(graph.right[edges]),
            "kind": [graph.kind_names[rank] for rank in graph.rank[edges].tolist()],
            "score": graph.score[edges],
            "reason": cannot.reason.take(pa.array(pairs, pa.int64())),
            "blocked_left_key": graph.keys.take(cannot.left[pairs]),
            "blocked_right_key": graph.keys.take(cannot.right[pairs]),
        },
        schema=REFUSED_SCHEMA,
    )


# -- the cluster-size guard ------------------------------------------------------------------
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
        return GuardResult(labels=labels, was_split=was_split, splits=SPLITS_SCHEMA.empty_table())

    node_order = np.argsort(labels, kind="stable")
    node_starts = np.concatenate([[0], np.cumsum(sizes)])
    edge_comp = labels[graph.left]
    edge_sel = np.flatnonzero(np.isin(edge_comp, oversized))
    edge_sel = edge_sel[np.argsort(edge_comp[edge_sel], kind="stable")]
    edge_sel_comp = edge_comp[edge_sel]

    new_labels = labels.copy()
    next_label = len(sizes)
    report = _ReportBuilder(graph.kind_names, split_threshold)
    for comp in progress(oversized.tolist(), len(oversized), "identity splits", "cluster"):
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
