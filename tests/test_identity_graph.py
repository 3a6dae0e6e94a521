"""Identity graph, components and the cluster-size guard (no lake involved)."""

from __future__ import annotations

import json
import random

import numpy as np
import pyarrow as pa
import pytest
from dataproc.config import SettingsError, read_settings
from dataproc.identity import IdentitySettings, compute_identity
from dataproc.identity.graph import (
    build_graph,
    component_labels,
    key_positions,
    split_oversized,
)
from dataproc.identity.state import IdentityState
from dataproc.lake import parquet_bytes
from identity_tables import Edge, edges_table, nodes_table


def clusters(keys: list[str], edges: list[Edge]) -> list[list[str]]:
    graph = build_graph(nodes_table(keys), edges_table(edges))
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    names = graph.keys.to_pylist()
    groups: dict[int, list[str]] = {}
    for name, label in zip(names, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(name)
    return [groups[label] for label in sorted(groups)]


def test_components_ignore_unknown_keys_and_collapse_duplicate_edges() -> None:
    keys = ["g:2", "d:1", "d:1", "p:5_p0", "z:7"]
    edges = [
        ("d:1", "g:2", "md5", 1.0),
        ("g:2", "d:1", "md5", 1.0),  # reversed duplicate
        ("d:1", "g:2", "embedding", 0.93),  # weaker evidence for the same pair
        ("z:7", "y:404", "md5", 1.0),  # y:404 is not a node
        ("p:5_p0", "p:5_p0", "source_url", 1.0),  # self-loop
    ]
    assert clusters(keys, edges) == [["d:1", "g:2"], ["p:5_p0"], ["z:7"]]
    graph = build_graph(nodes_table(keys), edges_table(edges))
    assert graph.keys.to_pylist() == ["d:1", "g:2", "p:5_p0", "z:7"]
    assert (graph.left.tolist(), graph.right.tolist()) == ([0], [1])
    assert graph.kind_names[int(graph.rank[0])] == "md5"  # the strongest evidence is kept


def test_key_positions_look_up_several_columns_at_once() -> None:
    keys = pa.array(["d:1", "g:2", "z:7"])
    chunked = pa.chunked_array([["z:7", None], [], ["d:1"]])
    left, empty, right = key_positions(
        keys, chunked, pa.array([], pa.string()), pa.array(["y:4", "g:2"])
    )
    assert left.tolist() == [2, -1, 0]  # a null is absent too
    assert empty.tolist() == []
    assert right.tolist() == [-1, 1]


def test_unknown_edge_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="phash"):
        build_graph(nodes_table(["d:1", "g:1"]), edges_table([("d:1", "g:1", "phash", 1.0)]))


def _scenario() -> tuple[list[str], list[Edge]]:
    keys = [f"d:{i}" for i in range(12)] + [f"g:{i}" for i in range(12)] + ["p:1_p0", "p:1_p1"]
    edges = [(f"d:{i}", f"g:{i}", "md5", 1.0) for i in range(12)]
    edges += [(f"g:{i}", f"d:{i + 1}", "embedding", 0.9 + i / 200) for i in range(7)]
    edges += [("p:1_p0", "d:0", "pixiv_id", 1.0), ("p:1_p1", "d:11", "source_url", 1.0)]
    return keys, edges


def _identity_bytes(keys: list[str], edges: list[Edge]) -> tuple[bytes, list[bytes]]:
    settings = IdentitySettings(max_cluster_size=6, split_threshold=0.92)
    identity, state, _ = compute_identity(
        nodes_table(keys), edges_table(edges), IdentityState.empty(), settings
    )
    return parquet_bytes(identity), [parquet_bytes(t) for t in state.tables().values()]


def test_input_order_does_not_change_results() -> None:
    keys, edges = _scenario()
    expected = _identity_bytes(keys, edges)
    rng = random.Random(3)
    for _ in range(4):
        shuffled_keys = keys + keys[:3]
        rng.shuffle(shuffled_keys)
        shuffled_edges = [e if rng.random() < 0.5 else (e[1], e[0], e[2], e[3]) for e in edges]
        shuffled_edges += shuffled_edges[:4]
        rng.shuffle(shuffled_edges)
        assert _identity_bytes(shuffled_keys, shuffled_edges) == expected


def test_guard_splits_oversized_component_at_threshold_and_reports() -> None:
    # Two md5 pairs bridged by one weak near-duplicate edge: 4 keys, over a max of 3.
    keys = ["d:1", "g:1", "d:2", "g:2", "z:1"]
    edges = [
        ("d:1", "g:1", "md5", 1.0),
        ("d:2", "g:2", "md5", 1.0),
        ("g:1", "d:2", "embedding", 0.91),
    ]
    graph = build_graph(nodes_table(keys), edges_table(edges))
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    result = split_oversized(graph, labels, max_cluster_size=3, split_threshold=0.95)

    names = graph.keys.to_pylist()  # d:1 d:2 g:1 g:2 z:1
    assert result.labels.tolist() == [0, 1, 0, 1, 2]
    assert result.was_split.tolist() == [True, True, True, True, False]
    report = result.splits.to_pylist()
    assert [row["image_key"] for row in report] == names[:4]
    assert {row["component_key"] for row in report} == {"d:1"}
    assert {row["component_size"] for row in report} == {4}
    assert [row["part_key"] for row in report] == ["d:1", "d:2", "d:1", "d:2"]
    assert {(row["reason"], row["cut_kind"], row["cut_score"]) for row in report} == {
        ("split_threshold", None, 0.95)
    }


def test_guard_drops_weakest_levels_until_parts_fit() -> None:
    # A chain held together by strong edges only: the threshold alone cannot split it.
    keys = ["a:1", "a:2", "a:3", "a:4", "a:5"]
    edges = [
        ("a:1", "a:2", "md5", 1.0),
        ("a:2", "a:3", "embedding", 0.99),
        ("a:3", "a:4", "md5", 1.0),
        ("a:4", "a:5", "embedding", 0.995),
    ]
    graph = build_graph(nodes_table(keys), edges_table(edges))
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    result = split_oversized(graph, labels, max_cluster_size=3, split_threshold=0.95)

    # md5 pairs first, then 0.995 joins a:5 to {a:3, a:4}; 0.99 would make 5 > 3 and is cut.
    assert result.labels.tolist() == [0, 0, 1, 1, 1]
    rows = {row["image_key"]: row for row in result.splits.to_pylist()}
    assert rows["a:1"]["part_key"] == "a:1" and rows["a:1"]["part_size"] == 2
    assert rows["a:5"]["part_key"] == "a:3" and rows["a:5"]["part_size"] == 3
    assert {(r["reason"], r["cut_kind"], r["cut_score"]) for r in rows.values()} == {
        ("weakest_edges", "embedding", 0.99)
    }


def test_guard_falls_back_to_singletons() -> None:
    keys = ["a:1", "a:2", "a:3"]
    edges = [("a:1", "a:2", "md5", 1.0), ("a:2", "a:3", "md5", 1.0)]
    graph = build_graph(nodes_table(keys), edges_table(edges))
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    result = split_oversized(graph, labels, max_cluster_size=1, split_threshold=0.5)
    assert result.labels.tolist() == [0, 1, 2]
    assert {row["cut_kind"] for row in result.splits.to_pylist()} == {"md5"}


def test_components_on_many_nodes() -> None:
    n = 200_000
    keys = pa.array([f"d:{i:07d}" for i in range(n)])
    edges = pa.table(
        {
            "left_key": keys.slice(0, n - 1),
            "right_key": keys.slice(1, n - 1),
            "kind": pa.array(["md5"] * (n - 1)),
            "score": pa.array(np.ones(n - 1)),
        }
    )
    edges = edges.filter(pa.array(np.arange(n - 1) % 2 == 0))  # pairs (0,1), (2,3), ...
    graph = build_graph(pa.table({"image_key": keys}), edges)
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    assert labels.max() == n // 2 - 1
    assert labels[:4].tolist() == [0, 0, 1, 1]


def test_settings_come_from_one_json_object_in_meta() -> None:
    meta = {"settings": json.dumps({"max_cluster_size": 50, "split_threshold": 0.97})}
    assert read_settings(IdentitySettings, meta) == IdentitySettings(50, 0.97)
    with pytest.raises(SettingsError, match="max_cluster_size"):
        read_settings(
            IdentitySettings, {"settings": '{"max_cluster_size": 0, "split_threshold": 1}'}
        )
    with pytest.raises(SettingsError, match="split_threshold"):
        read_settings(IdentitySettings, {"settings": '{"max_cluster_size": 5}'})
