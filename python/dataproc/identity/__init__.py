"""Identity: cluster image keys that show the same picture and give each cluster a stable ID.

In: `nodes` (`image_key`) and identity `edges` (`left_key`, `right_key`, `kind`, `score`) as
Arrow, the lake, and `IdentitySettings`. Out: an `IdentityResult`, whose `records()` is the one
table the `int_identity_assignment` model returns: every key's image ID (`member` rows), the
guard's split report (`split` rows) and the retired-ID redirects (`redirect` rows).

One run reads the last committed state under `state/identity/` (`state.py`), builds the graph,
its components and the size guard's cut (`graph.py`), carries the previous IDs over and mints
new ones (`ids.py`), and commits the next state unless nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from dataproc.config import require
from dataproc.identity.graph import (
    build_graph,
    cluster_sizes,
    component_labels,
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
# One row per record; the columns a kind lacks are null.
RECORDS_SCHEMA = pa.schema(
    [
        pa.field("record_kind", pa.string(), nullable=False),
        pa.field("image_key", pa.string()),
        pa.field("image_id", pa.string()),
        pa.field("cluster_size", pa.int64()),
        pa.field("was_split", pa.bool_()),
        pa.field("component_key", pa.string()),
        pa.field("component_size", pa.int64()),
        pa.field("part_key", pa.string()),
        pa.field("part_size", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("cut_kind", pa.string()),
        pa.field("cut_score", pa.float64()),
        pa.field("retired_id", pa.string()),
        pa.field("retired_run", pa.int64()),
    ]
)


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

    @property
    def redirects(self) -> pa.Table:
        return self.state.redirects

    @property
    def splits(self) -> pa.Table:
        return self.state.splits

    def records(self) -> pa.Table:
        """Members, splits and redirects in one table (`RECORDS_SCHEMA`), told by `record_kind`."""
        parts = {"member": self.identity, "split": self.splits, "redirect": self.redirects}
        tagged = [
            table.add_column(0, "record_kind", pa.repeat(pa.scalar(kind), table.num_rows))
            for kind, table in parts.items()
        ]
        combined = pa.concat_tables(tagged, promote_options="permissive")
        return combined.select(RECORDS_SCHEMA.names).cast(RECORDS_SCHEMA)


def compute_identity(
    nodes: pa.Table, edges: pa.Table, previous: IdentityState, settings: IdentitySettings
) -> tuple[pa.Table, IdentityState]:
    """Pure step: this run's identity table and the next state (not yet committed).

    The next state carries run number `previous.run + 1`; it equals `previous` table for table
    when nothing changed.
    """
    graph = build_graph(nodes, edges)
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    guard = split_oversized(graph, labels, settings.max_cluster_size, settings.split_threshold)
    run = previous.run + 1
    assigned = assign_ids(graph.keys, guard.labels, previous, run)
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
    return identity, state


def build_identity(
    nodes: pa.Table, edges: pa.Table, lake: Lake, settings: IdentitySettings
) -> IdentityResult:
    """Cluster `nodes` by `edges`, give every cluster a stable ID and commit the state to `lake`.

    When the result equals the committed state nothing is written, so re-running on the same
    input leaves the lake byte for byte as it was.
    """
    previous = load_state(lake)
    identity, state = compute_identity(nodes, edges, previous, settings)
    if state.same_content(previous):
        return IdentityResult(identity=identity, state=previous, committed=False)
    save_state(lake, state)
    return IdentityResult(identity=identity, state=state, committed=True)
