"""Near-duplicate edges: the definition, determinism, and incremental runs.

Every edge set is checked against a brute-force reference written here from the definition:
for each key, its k best other keys by exact cosine among those >= threshold (ties by key),
as undirected pairs.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from dataproc.config import SettingsError, read_settings
from dataproc.lake import Lake
from dataproc.neighbours.edges import (
    EDGE_SCHEMA,
    NearDuplicateSettings,
    embedding_edges,
    find_near_duplicates,
    near_duplicate_edges,
)
from dataproc.neighbours.search import IndexSettings
from dataproc.neighbours.state import load_index_state
from synthetic_vectors import duplicate_groups, embeddings_table, normalize_rows

THRESHOLD = 0.95
NDIM = 48


def reference_edges(
    keys: list[str], vectors: np.ndarray, threshold: float, k: int
) -> dict[tuple[str, str], float]:
    """Brute-force edges {(left_key, right_key): cosine} straight from the definition."""
    x = vectors.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cos = x @ x.T
    edges: dict[tuple[str, str], float] = {}
    for i, key in enumerate(keys):
        others = [j for j in range(len(keys)) if j != i and cos[i, j] >= threshold]
        # Rounded so that identical vectors tie whatever the matrix product's rounding.
        for j in sorted(others, key=lambda j: (-round(cos[i, j], 12), keys[j]))[:k]:
            pair = (min(key, keys[j]), max(key, keys[j]))
            edges[pair] = float(cos[i, j])
    return edges


def as_dict(edges: pa.Table) -> dict[tuple[str, str], float]:
    rows = edges.to_pylist()
    return {(r["left_key"], r["right_key"]): r["score"] for r in rows}


def assert_matches_reference(edges: pa.Table, reference: dict[tuple[str, str], float]) -> None:
    got = as_dict(edges)
    assert set(got) == set(reference)
    for pair, score in reference.items():
        assert got[pair] == pytest.approx(score, abs=1e-9)


def dataset(seed: int = 7, sizes: tuple[int, ...] = (2, 3, 4, 5) * 10, solo: int = 1500):
    keys, vectors, groups = duplicate_groups(list(sizes), solo, NDIM, seed)
    order = np.random.default_rng(seed).permutation(len(keys))  # arrival order is not key order
    return [keys[i] for i in order], vectors[order], groups


def test_edges_connect_exactly_the_copies() -> None:
    keys, vectors, groups = dataset()
    edges = near_duplicate_edges(embeddings_table(keys, vectors), THRESHOLD, k=10)

    expected = {(a, b) for group in groups for a in group for b in group if a < b}
    assert set(as_dict(edges)) == expected
    assert_matches_reference(edges, reference_edges(keys, vectors, THRESHOLD, k=10))
    assert edges.schema == EDGE_SCHEMA
    assert set(edges.column("kind").to_pylist()) == {"embedding"}
    rows = list(
        zip(
            edges.column("left_key").to_pylist(), edges.column("right_key").to_pylist(), strict=True
        )
    )
    assert all(left < right for left, right in rows)
    assert rows == sorted(rows)


def test_threshold_is_inclusive_and_exact() -> None:
    rng = np.random.default_rng(3)
    base = normalize_rows(rng.standard_normal((4, NDIM)))
    # An orthonormal direction per base vector, to place partners at an exact cosine.
    ortho = rng.standard_normal((4, NDIM))
    ortho -= (ortho * base).sum(axis=1, keepdims=True) * base
    ortho = normalize_rows(ortho)
    cosines = np.array([0.902, 0.899, 0.97, 0.5])
    partners = base * cosines[:, None] + ortho * np.sqrt(1 - cosines**2)[:, None]
    keys = [f"a{i}" for i in range(4)] + [f"b{i}" for i in range(4)]
    vectors = np.concatenate([base, partners]).astype(np.float32)
    edges = near_duplicate_edges(embeddings_table(keys, vectors), 0.9, k=5)
    assert set(as_dict(edges)) == {("a0", "b0"), ("a2", "b2")}
    assert as_dict(edges)[("a0", "b0")] == pytest.approx(0.902, abs=1e-6)


def test_k_caps_neighbours_of_dense_groups() -> None:
    keys, vectors, _ = dataset(sizes=(9, 6, 2), solo=300)
    k = 3
    edges = near_duplicate_edges(embeddings_table(keys, vectors), THRESHOLD, k=k)
    reference = reference_edges(keys, vectors, THRESHOLD, k)
    assert_matches_reference(edges, reference)
    # A 9-member group has 36 pairs; with k=3 far fewer survive, but the group stays linked.
    group = {(a, b) for a, b in reference if a.startswith("dup0000")}
    assert 9 <= len(group) < 36


def test_exact_duplicates_beyond_k_tie_by_key(tmp_path) -> None:
    keys, vectors, _ = dataset(sizes=(3, 2), solo=200)
    # Six byte-identical embeddings (the same file on several sites), arriving in two batches.
    same = [f"same:{c}" for c in "fbdaec"]
    keys += same
    twin = normalize_rows(np.random.default_rng(2).standard_normal((1, NDIM)))
    vectors = np.concatenate([vectors, np.repeat(twin, 6, axis=0)])
    table = embeddings_table(keys, vectors)
    k = 2
    edges = near_duplicate_edges(table, THRESHOLD, k=k)
    assert_matches_reference(edges, reference_edges(keys, vectors, THRESHOLD, k))
    # Each duplicate keeps the two smallest other keys: a-b, a-c, b-c plus a and b from d, e, f.
    assert {p for p in as_dict(edges) if p[0].startswith("same")} == {
        ("same:a", "same:b"),
        ("same:a", "same:c"),
        ("same:b", "same:c"),
        ("same:a", "same:d"),
        ("same:b", "same:d"),
        ("same:a", "same:e"),
        ("same:b", "same:e"),
        ("same:a", "same:f"),
        ("same:b", "same:f"),
    }
    lake = Lake(str(tmp_path / "lake"))
    late = [i for i, key in enumerate(keys) if key in ("same:a", "same:c")]
    early = [i for i in range(len(keys)) if i not in late]
    find_near_duplicates(table.take(pa.array(early)), THRESHOLD, k=k, lake=lake, model_tag="m")
    assert find_near_duplicates(table, THRESHOLD, k=k, lake=lake, model_tag="m").edges.equals(edges)


def test_builds_on_any_thread_count_give_identical_edges_and_rows(tmp_path) -> None:
    keys, vectors, _ = dataset()
    table = embeddings_table(keys, vectors)
    lakes = {name: Lake(str(tmp_path / name)) for name in ("one", "two", "serial")}
    runs = [
        find_near_duplicates(
            table,
            THRESHOLD,
            settings=IndexSettings(build_threads=1 if name == "serial" else 0),
            lake=lake,
            model_tag="m",
        )
        for name, lake in lakes.items()
    ]
    assert runs[0].edges.equals(runs[1].edges) and runs[0].edges.equals(runs[2].edges)
    # Labels and stored neighbour rows are byte-identical; the graph itself depends on the
    # thread schedule, so index files are not compared.
    for name in ("labels-000001.parquet", "pairs-000001.parquet"):
        one = (tmp_path / "one/state/index/m" / name).read_bytes()
        for other in ("two", "serial"):
            assert one == (tmp_path / other / "state/index/m" / name).read_bytes(), name
    # Row order of the input does not matter either.
    shuffled = table.take(pa.array(np.random.default_rng(1).permutation(len(table))))
    assert near_duplicate_edges(shuffled, THRESHOLD).equals(runs[0].edges)


def test_incremental_batches_equal_one_batch(tmp_path) -> None:
    # Dense groups larger than k: new members displace old members' neighbours, so old keys
    # must be searched again for the result to equal a full run.
    keys, vectors, _ = dataset(sizes=(12, 9, 5, 3, 2, 2), solo=800)
    k = 4
    table = embeddings_table(keys, vectors)
    first = np.random.default_rng(11).permutation(len(keys))[: len(keys) // 2]
    lake = Lake(str(tmp_path / "lake"))

    run1 = find_near_duplicates(
        table.take(pa.array(first)), THRESHOLD, k=k, lake=lake, model_tag="m"
    )
    run2 = find_near_duplicates(table, THRESHOLD, k=k, lake=lake, model_tag="m")
    full = near_duplicate_edges(table, THRESHOLD, k=k)

    assert run2.edges.equals(full)
    assert_matches_reference(full, reference_edges(keys, vectors, THRESHOLD, k))
    assert (run1.added, run1.rebuilt) == (len(first), "no index")
    assert (run2.added, run2.rebuilt, run2.generation) == (len(keys) - len(first), "", 2)
    # Only the new keys and the old keys they reach were searched again.
    assert len(keys) - len(first) < run2.queried < len(keys)


def test_labels_continue_in_key_order_of_the_new_batch(tmp_path) -> None:
    keys, vectors, _ = dataset(solo=200)
    table = embeddings_table(keys, vectors)
    lake = Lake(str(tmp_path / "lake"))
    find_near_duplicates(table.slice(0, 100), THRESHOLD, lake=lake, model_tag="m")
    find_near_duplicates(table, THRESHOLD, lake=lake, model_tag="m")

    state = load_index_state(lake, "m")
    assert state is not None
    labelled = state.keys.to_pylist()
    assert labelled[:100] == sorted(keys[:100])
    assert labelled[100:] == sorted(keys[100:])
    assert len(state.index) == len(keys)
    # Label i holds the vector of labelled[i].
    row = {key: i for i, key in enumerate(keys)}
    probe = [0, 99, 100, len(keys) - 1]
    stored = np.stack([state.index.get(label) for label in probe]).astype(np.float32)
    original = vectors[[row[labelled[label]] for label in probe]]
    # Stored quantised (i8 keeps the direction, not the scale).
    cosine = (stored * original).sum(1) / np.linalg.norm(stored, axis=1)
    assert (cosine > 0.99).all(), cosine


def test_rerun_without_new_keys_writes_nothing(tmp_path) -> None:
    keys, vectors, _ = dataset(solo=300)
    table = embeddings_table(keys, vectors)
    lake = Lake(str(tmp_path / "lake"))
    first = find_near_duplicates(table, THRESHOLD, lake=lake, model_tag="m")
    again = find_near_duplicates(table, THRESHOLD, lake=lake, model_tag="m")
    assert (again.added, again.queried, again.generation) == (0, 0, first.generation)
    assert again.edges.equals(first.edges)


def test_changed_parameters_start_over_or_query_again(tmp_path) -> None:
    keys, vectors, _ = dataset(sizes=(8, 4, 2), solo=300)
    table = embeddings_table(keys, vectors)
    lake = Lake(str(tmp_path / "lake"))
    find_near_duplicates(table, THRESHOLD, k=10, lake=lake, model_tag="m")

    narrower = find_near_duplicates(table, THRESHOLD, k=2, lake=lake, model_tag="m")
    assert (narrower.rebuilt, narrower.queried) == ("", len(keys))
    assert_matches_reference(narrower.edges, reference_edges(keys, vectors, THRESHOLD, 2))

    denser = IndexSettings(connectivity=24)
    rebuilt = find_near_duplicates(table, THRESHOLD, k=2, settings=denser, lake=lake, model_tag="m")
    assert rebuilt.rebuilt == "build settings changed"
    assert rebuilt.edges.equals(narrower.edges)


def test_removed_keys_leave_the_index_without_a_rebuild(tmp_path) -> None:
    # k below the group sizes: removing a member changes the k best of the others.
    keys, vectors, _ = dataset(sizes=(8, 6, 3, 2), solo=400)
    k = 3
    table = embeddings_table(keys, vectors)
    lake = Lake(str(tmp_path / "lake"))
    first = find_near_duplicates(table, THRESHOLD, k=k, lake=lake, model_tag="m")

    gone = {"dup0000_0", "dup0000_1", "dup0001_5", "dup0003_0"}
    kept = [i for i, key in enumerate(keys) if key not in gone]
    run = find_near_duplicates(table.take(pa.array(kept)), THRESHOLD, k=k, lake=lake, model_tag="m")
    fresh = near_duplicate_edges(table.take(pa.array(kept)), THRESHOLD, k=k)

    assert (run.rebuilt, run.added, run.removed) == ("", 0, len(gone))
    assert run.edges.equals(fresh)
    assert_matches_reference(
        run.edges, reference_edges([keys[i] for i in kept], vectors[kept], THRESHOLD, k)
    )
    assert not any(key in gone for pair in as_dict(run.edges) for key in pair)
    # Only keys whose stored rows named a removed key were searched again.
    touched = {
        key
        for left, right in as_dict(first.edges)
        for key, other in ((left, right), (right, left))
        if other in gone and key not in gone
    }
    assert 0 < run.queried <= len(touched)
    state = load_index_state(lake, "m")
    assert len(state.index) == len(kept) == len(state.keys)
    assert state.next_label == len(keys)
    assert not set(state.keys.to_pylist()) & gone

    # A key that comes back gets a new label and its edges back.
    again = find_near_duplicates(table, THRESHOLD, k=k, lake=lake, model_tag="m")
    assert (again.added, again.removed) == (len(gone), 0)
    assert again.edges.equals(first.edges)


def test_invalid_inputs_are_rejected() -> None:
    keys, vectors, _ = dataset(solo=10)
    table = embeddings_table(keys, vectors)
    with pytest.raises(ValueError, match="duplicate image_key"):
        near_duplicate_edges(pa.concat_tables([table, table.slice(0, 1)]), THRESHOLD)
    zero = vectors.copy()
    zero[3] = 0
    with pytest.raises(ValueError, match="zero vectors"):
        near_duplicate_edges(embeddings_table(keys, zero), THRESHOLD)
    nulls = table.set_column(1, "embedding", pa.array([None] * len(keys), table.schema[1].type))
    with pytest.raises(ValueError, match="null embedding"):
        near_duplicate_edges(nulls, THRESHOLD)
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_edges(table, 1.5)
    with pytest.raises(ValueError, match="model tag"):
        find_near_duplicates(table, THRESHOLD, lake=object(), model_tag="../escape")


def test_empty_input_gives_empty_edges() -> None:
    empty = embeddings_table([], np.zeros((0, NDIM), np.float32))
    edges = near_duplicate_edges(empty, THRESHOLD)
    assert edges.schema == EDGE_SCHEMA
    assert len(edges) == 0


def test_the_stage_reads_its_vars_and_keeps_model_tags_apart(tmp_path) -> None:
    keys, vectors, _ = dataset(solo=200)
    table = embeddings_table(keys, vectors)
    tagged = table.append_column("model_tag", pa.array(["m@1"] * len(table)))
    meta = {"settings": json.dumps({"near_dup_threshold": THRESHOLD, "near_dup_neighbors": 4})}
    settings = read_settings(NearDuplicateSettings, meta)
    # The stage reads a stream, in batches of any size and keys in any order.
    edges = embedding_edges(
        tagged.to_reader(max_chunksize=64), settings, Lake(str(tmp_path / "lake"))
    )
    assert edges.equals(near_duplicate_edges(table, THRESHOLD, k=4))
    assert load_index_state(Lake(str(tmp_path / "lake")), "m@1") is not None

    mixed = tagged.set_column(2, "model_tag", pa.array([f"m@{i % 2}" for i in range(len(table))]))
    with pytest.raises(ValueError, match="several model tags"):
        embedding_edges(mixed.to_reader(), settings, Lake(str(tmp_path / "l")))
    for bad in ({"near_dup_threshold": 1.5}, {"near_dup_neighbors": 0}):
        values = {"near_dup_threshold": THRESHOLD, "near_dup_neighbors": 4, **bad}
        with pytest.raises(SettingsError, match=next(iter(bad))):
            read_settings(NearDuplicateSettings, {"settings": json.dumps(values)})
