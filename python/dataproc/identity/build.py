"""One identity run: graph, components, guard, stable IDs, commit; plus readers of the state.

These are the entry points the dbt Python models call. Everything here takes and returns Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from dataproc.identity.assign import assign_ids
from dataproc.identity.components import cluster_sizes, component_labels
from dataproc.identity.graph import build_graph
from dataproc.identity.guard import split_oversized
from dataproc.identity.settings import IdentitySettings
from dataproc.identity.state import IdentityState, load_state, load_table, save_state
from dataproc.lake import open_store

IDENTITY_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("cluster_size", pa.int64(), nullable=False),
        pa.field("was_split", pa.bool_(), nullable=False),
    ]
)


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
    nodes: pa.Table,
    edges: pa.Table,
    lake: str,
    settings: IdentitySettings,
    env: Mapping[str, str] | None = None,
) -> IdentityResult:
    """Cluster `nodes` by `edges`, give every cluster a stable ID and commit the state to `lake`.

    `nodes` needs `image_key`; `edges` needs `left_key`, `right_key`, `kind` and `score`. When the
    result equals the committed state nothing is written, so re-running on the same input leaves
    the lake byte for byte as it was.
    """
    store = open_store(lake, env)
    previous = load_state(store)
    identity, state = compute_identity(nodes, edges, previous, settings)
    if state.same_content(previous):
        return IdentityResult(identity=identity, state=previous, committed=False)
    save_state(store, state)
    return IdentityResult(identity=identity, state=state, committed=True)


def read_redirects(lake: str, env: Mapping[str, str] | None = None) -> pa.Table:
    """The committed redirects: retired_id, image_id (the live survivor), retired_run."""
    return load_table(open_store(lake, env), "redirects")


def read_splits(lake: str, env: Mapping[str, str] | None = None) -> pa.Table:
    """The committed guard report: one row per member of every re-split component."""
    return load_table(open_store(lake, env), "splits")
