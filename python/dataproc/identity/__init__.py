"""Identity: cluster image keys that show the same picture and give each cluster a stable ID.

In: `nodes` (`image_key`), identity `edges` (`left_key`, `right_key`, `kind`, `score`) and
`cannot_links` (`left_key`, `right_key`, `reason`) as Arrow, the embedding threshold chosen by
the calibration (`calibration.py`), the lake, and `IdentitySettings`. Out: an `IdentityResult`,
whose `records()` is the one table the `int_identity_assignment` model returns: every key's
image ID (`member` rows), the guard's split report (`split` rows), the retired-ID redirects
(`redirect` rows) and the edges refused by a cannot-link pair (`refused` rows), each kind's own
columns as JSON in `details`.

One run reads the last committed state under `state/identity/` (`state.py`), drops embedding
edges below the threshold, builds the graph, refuses the edges that would join a cannot-link
pair, takes the components and the size guard's cut (`graph.py`), carries the previous IDs over
and mints new ones (`ids.py`), and commits the next state unless nothing changed. Refused edges
are reported each run, not persisted: a refused merge never happened, so it retires no ID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from dataproc.config import require
from dataproc.identity.graph import (
    REFUSED_SCHEMA,
    CannotLinks,
    cluster_sizes,
    component_labels,
    graph_of,
    key_positions,
    refuse_cannot_links,
    sorted_unique_keys,
    split_oversized,
)
from dataproc.identity.ids import assign_ids
from dataproc.identity.state import IdentityState, load_state, save_state
from dataproc.lake import Lake

__all__ = [
    "IDENTITY_SCHEMA",
    "RECORDS_SCHEMA",
    "IdentityResult",
    "IdentitySettings",
    "build_identity",
    "compute_identity",
]

IDENTITY_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("cluster_size", pa.int64(), nullable=False),
        pa.field("was_split", pa.bool_(), nullable=False),
    ]
)
# One row per record. The member columns are typed (null where a kind lacks them); every other
# column of a kind travels in `details`, one JSON object per row (null on member rows). Members
# are nearly every row, and fifteen typed columns that are null on them cost DuckDB's writer
# 1.7 s more at 5.3M keys. int_identity_splits, image_id_redirects and
# int_identity_refused_edges give them their types back.
RECORDS_SCHEMA = pa.schema(
    [
        pa.field("record_kind", pa.string(), nullable=False),
        pa.field("image_key", pa.string()),
        pa.field("image_id", pa.string()),
        pa.field("cluster_size", pa.int64()),
        pa.field("was_split", pa.bool_()),
        pa.field("details", pa.string()),
    ]
)
EMBEDDING_KIND = "embedding"
NO_CANNOT_LINKS = pa.schema(
    [("left_key", pa.string()), ("right_key", pa.string()), ("reason", pa.string())]
).empty_table()


@dataclass(frozen=True)
class IdentitySettings:
    """The identity stage's dbt vars (same names), read with `read_settings`.

    `max_cluster_size`: larger components are re-split by the guard.
    `split_threshold`: the stricter score an edge needs to survive inside such a component.
    """

    max_cluster_size: int
    split_threshold: float

    def __post_init__(self) -> None:
        require(self.max_cluster_size >= 1, "max_cluster_size", "at least 1", self.max_cluster_size)


@dataclass(frozen=True)
class IdentityResult:
    """Per-key identity of this run, and the committed state it was based on or wrote."""

    identity: pa.Table
    state: IdentityState
    committed: bool
    refused: pa.Table = field(default_factory=REFUSED_SCHEMA.empty_table)

    @property
    def redirects(self) -> pa.Table:
        return self.state.redirects

    @property
    def splits(self) -> pa.Table:
        return self.state.splits

    def records(self) -> pa.Table:
        """Members, splits, redirects and refused edges in one table (`RECORDS_SCHEMA`), told by
        `record_kind`."""
        parts = {
            "member": self.identity,
            "split": self.splits,
            "redirect": self.redirects,
            "refused": self.refused,
        }
        tagged = []
        for kind, table in parts.items():
            shared = [name for name in table.column_names if name in RECORDS_SCHEMA.names]
            own = [name for name in table.column_names if name not in RECORDS_SCHEMA.names]
            columns = {
                "record_kind": pa.repeat(pa.scalar(kind), table.num_rows),
                **{name: table[name] for name in shared},
            }
            if own:
                columns["details"] = json_objects(table.select(own))
            tagged.append(pa.table(columns))
        combined = pa.concat_tables(tagged, promote_options="permissive")
        return combined.select(RECORDS_SCHEMA.names).cast(RECORDS_SCHEMA)


def json_objects(table: pa.Table) -> pa.StringArray:
    """Each row of `table` as one JSON object, its columns in table order."""
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    return pa.array([encode(row) for row in table.to_pylist()], pa.string())


def without_weak_embedding_edges(edges: pa.Table, threshold: float | None) -> pa.Table:
    """`edges` less the embedding edges scoring below `threshold` (None keeps them all)."""
    if threshold is None:
        return edges
    weak = pc.and_(pc.equal(edges["kind"], EMBEDDING_KIND), pc.less(edges["score"], threshold))
    return edges.filter(pc.invert(pc.fill_null(weak, False)))


def compute_identity(
    nodes: pa.Table,
    edges: pa.Table,
    previous: IdentityState,
    settings: IdentitySettings,
    cannot_links: pa.Table = NO_CANNOT_LINKS,
    embedding_threshold: float | None = None,
) -> tuple[pa.Table, IdentityState, pa.Table]:
    """Pure step: this run's identity table, the next state (not yet committed) and the edges
    refused by a cannot-link pair.

    The next state carries run number `previous.run + 1`; it equals `previous` table for table
    when nothing changed.
    """
    edges = without_weak_embedding_edges(edges, embedding_threshold)
    keys = sorted_unique_keys(nodes["image_key"])
    edge_left, edge_right, cannot_left, cannot_right, stored_nodes = key_positions(
        keys,
        edges["left_key"],
        edges["right_key"],
        cannot_links["left_key"],
        cannot_links["right_key"],
        previous.assignment["image_key"],
    )
    full_graph = graph_of(keys, edges, (edge_left, edge_right))
    cannot = CannotLinks.of(keys, cannot_links, ends=(cannot_left, cannot_right))
    refusal = refuse_cannot_links(full_graph, cannot)
    graph = refusal.graph
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    guard = split_oversized(graph, labels, settings.max_cluster_size, settings.split_threshold)
    run = previous.run + 1
    assigned = assign_ids(graph.keys, guard.labels, previous, run, stored_nodes)
    identity = pa.table(
        {
            "image_key": graph.keys,
            "image_id": assigned.image_ids,
            "cluster_size": cluster_sizes(guard.labels),
            "was_split": guard.was_split,
        },
        schema=IDENTITY_SCHEMA,
    )
    state = IdentityState(
        run=run,
        assignment=assigned.assignment,
        ids=assigned.ids,
        redirects=assigned.redirects,
        splits=guard.splits,
    )
    return identity, state, refusal.refused


def build_identity(
    nodes: pa.Table,
    edges: pa.Table,
    lake: Lake,
    settings: IdentitySettings,
    cannot_links: pa.Table = NO_CANNOT_LINKS,
    embedding_threshold: float | None = None,
) -> IdentityResult:
    """Cluster the nodes by the edges, give every cluster a stable ID and commit the state.

    When the result equals the committed state nothing is written, so re-running on the same
    input leaves the lake byte for byte as it was.
    """
    previous = load_state(lake)
    identity, state, refused = compute_identity(
        nodes, edges, previous, settings, cannot_links, embedding_threshold
    )
    if state.same_content(previous):
        return IdentityResult(identity, previous, committed=False, refused=refused)
    save_state(lake, state)
    return IdentityResult(identity, state, committed=True, refused=refused)
