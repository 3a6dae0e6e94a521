"""Cannot-link refusal: edges applied strongest first, refused when they would join a pair."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
from dataproc.identity import IdentitySettings, build_identity, compute_identity
from dataproc.identity.state import IdentityState
from dataproc.lake import Lake
from identity_tables import Edge, edges_table, nodes_table

SETTINGS = IdentitySettings(max_cluster_size=50, split_threshold=0.97)
CannotLink = tuple[str, str, str]


def cannot_table(pairs: list[CannotLink]) -> pa.Table:
    return pa.table(
        {name: pa.array([p[i] for p in pairs], pa.string()) for i, name in enumerate(
            ("left_key", "right_key", "reason"))}
    )  # fmt: skip


def run(
    keys: list[str], edges: list[Edge], cannot: list[CannotLink], threshold: float | None = None
) -> tuple[dict[str, str], list[dict]]:
    """Each key's cluster (its smallest member) and the refused edges as dicts."""
    identity, _, refused = compute_identity(
        nodes_table(keys), edges_table(edges), IdentityState.empty(), SETTINGS,
        cannot_links=cannot_table(cannot), embedding_threshold=threshold,
    )  # fmt: skip
    by_id: dict[str, list[str]] = {}
    for row in identity.to_pylist():
        by_id.setdefault(row["image_id"], []).append(row["image_key"])
    cluster = {key: min(members) for members in by_id.values() for key in members}
    return cluster, refused.to_pylist()


def test_exact_bytes_win_over_a_closer_looking_embedding() -> None:
    # c:1 is a child of p:1; x:1 is a byte copy of the child that looks even more like the parent.
    keys = ["c:1", "p:1", "x:1"]
    edges = [("p:1", "x:1", "embedding", 0.999), ("c:1", "x:1", "md5", 1.0)]
    cluster, refused = run(keys, edges, [("c:1", "p:1", "booru_parent_child")])
    assert cluster == {"c:1": "c:1", "x:1": "c:1", "p:1": "p:1"}
    assert refused == [
        {
            "left_key": "p:1",
            "right_key": "x:1",
            "kind": "embedding",
            "score": 0.999,
            "reason": "booru_parent_child",
            "blocked_left_key": "c:1",
            "blocked_right_key": "p:1",
        }
    ]


def test_kind_order_md5_then_pixiv_id_then_source_url() -> None:
    # Three pictures that must stay apart; one copy y:1 carries evidence for each.
    keys = ["a:1", "b:1", "c:1", "y:1"]
    cannot = [("a:1", "b:1", "r"), ("a:1", "c:1", "r"), ("b:1", "c:1", "r")]
    edges = [
        ("c:1", "y:1", "source_url", 1.0),
        ("b:1", "y:1", "pixiv_id", 1.0),
        ("a:1", "y:1", "embedding", 1.0),
    ]
    cluster, refused = run(keys, edges, cannot)
    assert cluster["y:1"] == "b:1"
    assert [(r["left_key"], r["kind"]) for r in refused] == [
        ("a:1", "embedding"),
        ("c:1", "source_url"),
    ]
    cluster, _ = run(keys, [*edges, ("a:1", "y:1", "md5", 1.0)], cannot)
    assert cluster["y:1"] == "a:1"


def test_embedding_edges_apply_by_descending_score_then_key_order() -> None:
    keys = ["a:1", "b:1", "x:1"]
    cannot = [("a:1", "b:1", "booru_parent_child")]
    cluster, refused = run(
        keys, [("a:1", "x:1", "embedding", 0.96), ("b:1", "x:1", "embedding", 0.98)], cannot
    )
    assert cluster["x:1"] == "b:1" and [r["left_key"] for r in refused] == ["a:1"]
    # A tie goes to the pair that comes first in key order, whatever the input order.
    tie = [("b:1", "x:1", "embedding", 0.97), ("x:1", "a:1", "embedding", 0.97)]
    for _ in range(3):
        random.Random(_).shuffle(tie)
        cluster, refused = run(list(reversed(keys)), tie, cannot)
        assert cluster["x:1"] == "a:1" and [r["left_key"] for r in refused] == ["b:1"]


def test_cannot_link_holds_through_whole_clusters() -> None:
    # a:1 / b:1 must stay apart; their copies are joined by a weak look-alike edge.
    keys = ["a:1", "a:2", "b:1", "b:2"]
    edges = [
        ("a:1", "a:2", "md5", 1.0),
        ("b:1", "b:2", "md5", 1.0),
        ("a:2", "b:2", "embedding", 0.99),
    ]
    cluster, refused = run(keys, edges, [("a:1", "b:1", "booru_parent_child")])
    assert cluster == {"a:1": "a:1", "a:2": "a:1", "b:1": "b:1", "b:2": "b:1"}
    assert [(r["left_key"], r["right_key"], r["blocked_left_key"]) for r in refused] == [
        ("a:2", "b:2", "a:1")
    ]
    # Without the cannot-link the same edges make one cluster.
    assert len(set(run(keys, edges, [])[0].values())) == 1


def test_embedding_edges_below_the_threshold_are_dropped() -> None:
    keys = ["a:1", "b:1", "c:1"]
    edges = [("a:1", "b:1", "embedding", 0.95), ("b:1", "c:1", "embedding", 0.99)]
    cluster, _ = run(keys, edges, [], threshold=0.97)
    assert cluster == {"a:1": "a:1", "b:1": "b:1", "c:1": "b:1"}


def test_a_refused_merge_retires_no_id(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    keys = ["a:1", "b:1"]
    first = build_identity(nodes_table(keys), edges_table([]), lake, SETTINGS)
    edge = [("a:1", "b:1", "embedding", 0.99)]
    cannot = cannot_table([("a:1", "b:1", "booru_parent_child")])
    second = build_identity(
        nodes_table(keys), edges_table(edge), lake, SETTINGS, cannot_links=cannot
    )
    assert second.identity.equals(first.identity)
    assert second.redirects.num_rows == 0 and not second.committed
    records = second.records()
    refused = records.filter(pa.compute.equal(records["record_kind"], "refused"))
    (details,) = [json.loads(text) for text in refused["details"].to_pylist()]
    assert (details["left_key"], details["right_key"]) == ("a:1", "b:1")
    assert details["reason"] == "booru_parent_child"
