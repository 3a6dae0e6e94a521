"""Node and edge tables for identity tests, in the columns the identity models read."""

from __future__ import annotations

import pyarrow as pa

Edge = tuple[str, str, str, float]


def nodes_table(keys: list[str]) -> pa.Table:
    return pa.table({"image_key": keys, "source": [key.split(":")[0] for key in keys]})


def edges_table(edges: list[Edge]) -> pa.Table:
    return pa.table(
        {
            "left_key": pa.array([e[0] for e in edges], pa.string()),
            "right_key": pa.array([e[1] for e in edges], pa.string()),
            "kind": pa.array([e[2] for e in edges], pa.string()),
            "score": pa.array([e[3] for e in edges], pa.float64()),
        }
    )
