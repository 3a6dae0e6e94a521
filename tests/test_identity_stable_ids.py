"""Stable image IDs across runs, persisted in a local lake."""

from __future__ import annotations

import json
from pathlib import Path

import obstore
import pyarrow as pa
import pytest
from dataproc.identity import IDENTITY_SCHEMA, RECORDS_SCHEMA, IdentitySettings, build_identity
from dataproc.identity.graph import SPLITS_SCHEMA
from dataproc.identity.ids import id_numbers, mint_id, mint_ids
from dataproc.identity.state import (
    MANIFEST_PATH,
    REDIRECTS_SCHEMA,
    IdentityState,
    load_state,
    save_state,
)
from dataproc.lake import Lake
from identity_tables import Edge, edges_table, nodes_table

SETTINGS = IdentitySettings(max_cluster_size=50, split_threshold=0.95)


def run(lake: Path, keys: list[str], edges: list[Edge], settings: IdentitySettings = SETTINGS):
    return build_identity(nodes_table(keys), edges_table(edges), Lake(str(lake)), settings)


def ids_by_key(result) -> dict[str, str]:
    return dict(
        zip(
            result.identity["image_key"].to_pylist(),
            result.identity["image_id"].to_pylist(),
            strict=True,
        )
    )


def state_files(lake: Path) -> dict[str, bytes]:
    root = lake / "state" / "identity"
    return {str(p.relative_to(lake)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


BASE_KEYS = ["danbooru:1", "gelbooru:10", "pixiv:5_p0", "danbooru:2", "yandere:20"]
BASE_EDGES: list[Edge] = [
    ("danbooru:1", "gelbooru:10", "md5", 1.0),
    ("danbooru:1", "pixiv:5_p0", "pixiv_id", 1.0),
    ("yandere:20", "danbooru:2", "embedding", 0.97),
]


def test_first_run_mints_ids_from_smallest_key(tmp_path: Path) -> None:
    ids = ids_by_key(run(tmp_path, BASE_KEYS, BASE_EDGES))
    assert ids["danbooru:1"] == ids["gelbooru:10"] == ids["pixiv:5_p0"]
    assert ids["danbooru:1"] == mint_id("danbooru:1", set())
    assert ids["danbooru:2"] == ids["yandere:20"] == mint_id("danbooru:2", set())
    assert ids["danbooru:1"].startswith("img_") and len(ids["danbooru:1"]) == 20


def test_rerun_same_input_gives_same_ids_and_byte_identical_state(tmp_path: Path) -> None:
    first = run(tmp_path, BASE_KEYS, BASE_EDGES)
    files = state_files(tmp_path)
    assert MANIFEST_PATH in files and len(files) == 5
    second = run(tmp_path, list(reversed(BASE_KEYS)), list(reversed(BASE_EDGES)))
    assert first.committed and not second.committed
    assert second.identity.equals(first.identity)
    assert state_files(tmp_path) == files

    # A fresh lake given the same input writes the very same bytes.
    other = tmp_path / "other"
    run(other, BASE_KEYS, BASE_EDGES)
    assert state_files(other) == files


def test_new_posts_inherit_cluster_id_and_isolated_post_gets_new_id(tmp_path: Path) -> None:
    before = ids_by_key(run(tmp_path, BASE_KEYS, BASE_EDGES))
    keys = [*BASE_KEYS, "zerochan:7", "konachan:3"]
    edges = [*BASE_EDGES, ("zerochan:7", "gelbooru:10", "md5", 1.0)]
    after = ids_by_key(run(tmp_path, keys, edges))
    for key in BASE_KEYS:
        assert after[key] == before[key]
    assert after["zerochan:7"] == before["danbooru:1"]
    assert after["konachan:3"] == mint_id("konachan:3", set())
    assert after["konachan:3"] not in before.values()

    state = load_state(Lake(str(tmp_path)))
    assert state.run == 2
    rows = {row["image_key"]: row for row in state.assignment.to_pylist()}
    assert rows["danbooru:1"]["assigned_run"] == 1 and rows["zerochan:7"]["assigned_run"] == 2
    assert state.redirects.num_rows == 0


def _younger_key_with_smaller_id(older_id: str) -> str:
    """A key whose minted ID sorts before `older_id`, so age, not string order, must decide."""
    for n in range(1000):
        key = f"gelbooru:{9000 + n}"
        if mint_id(key, set()) < older_id:
            return key
    raise AssertionError("no candidate key found")


def test_bridge_post_merges_clusters_and_older_id_survives(tmp_path: Path) -> None:
    old = ids_by_key(run(tmp_path, BASE_KEYS, BASE_EDGES))
    older_id = old["danbooru:1"]
    young_key = _younger_key_with_smaller_id(older_id)
    keys = [*BASE_KEYS, young_key, "yandere:30"]
    edges = [*BASE_EDGES, (young_key, "yandere:30", "md5", 1.0)]
    young_id = ids_by_key(run(tmp_path, keys, edges))[young_key]
    assert young_id < older_id  # the string tie-break would pick the younger one

    bridged = run(
        tmp_path,
        [*keys, "danbooru:99"],
        [
            *edges,
            ("danbooru:99", "yandere:30", "source_url", 1.0),
            ("danbooru:99", "pixiv:5_p0", "pixiv_id", 1.0),
        ],
    )
    ids = ids_by_key(bridged)
    members = ["danbooru:1", "gelbooru:10", "pixiv:5_p0", young_key, "yandere:30", "danbooru:99"]
    assert {ids[key] for key in members} == {older_id}
    assert ids["danbooru:2"] == old["danbooru:2"]
    assert load_state(Lake(str(tmp_path))).redirects.to_pylist() == [
        {"retired_id": young_id, "image_id": older_id, "retired_run": 3}
    ]
    runs = {
        row["image_key"]: row["assigned_run"]
        for row in load_state(Lake(str(tmp_path))).assignment.to_pylist()
    }
    assert (runs["danbooru:1"], runs[young_key], runs["danbooru:99"]) == (1, 3, 3)
    assert (
        bridged.identity.filter(pa.compute.equal(bridged.identity["image_id"], older_id))[
            "cluster_size"
        ].to_pylist()
        == [6] * 6
    )


def test_split_majority_part_keeps_id_and_other_parts_get_new_ids(tmp_path: Path) -> None:
    keys = ["a:1", "a:2", "a:3", "a:4", "a:5"]
    edges: list[Edge] = [
        ("a:1", "a:2", "md5", 1.0),
        ("a:2", "a:3", "embedding", 0.96),
        ("a:3", "a:4", "md5", 1.0),
        ("a:4", "a:5", "md5", 1.0),
    ]
    old_id = ids_by_key(run(tmp_path, keys, edges))["a:1"]
    # The near-duplicate edge is gone: {a:1, a:2} and {a:3, a:4, a:5} split apart.
    ids = ids_by_key(run(tmp_path, keys, [e for e in edges if e[2] == "md5"]))
    assert ids["a:3"] == ids["a:4"] == ids["a:5"] == old_id  # the majority keeps the ID
    assert ids["a:1"] == ids["a:2"] != old_id
    # a:1 seeded the old ID, so the new part's ID must not reuse that value.
    assert ids["a:1"] == mint_id("a:1", {old_id})
    assert load_state(Lake(str(tmp_path))).redirects.num_rows == 0


def test_split_tie_goes_to_part_with_smallest_old_member(tmp_path: Path) -> None:
    keys = ["b:1", "b:2", "b:3", "b:4"]
    edges: list[Edge] = [
        ("b:3", "b:4", "md5", 1.0),
        ("b:1", "b:2", "md5", 1.0),
        ("b:2", "b:3", "embedding", 0.96),
    ]
    old_id = ids_by_key(run(tmp_path, keys, edges))["b:1"]
    ids = ids_by_key(run(tmp_path, keys, edges[:2]))
    assert ids["b:1"] == ids["b:2"] == old_id
    assert ids["b:3"] == ids["b:4"] != old_id


def test_absent_keys_stay_in_history_and_come_back_under_the_survivor(tmp_path: Path) -> None:
    first = ids_by_key(run(tmp_path, BASE_KEYS, BASE_EDGES))
    # danbooru:2 disappears; yandere:20 merges with the danbooru:1 cluster.
    keys = [k for k in BASE_KEYS if k != "danbooru:2"]
    edges = [BASE_EDGES[0], BASE_EDGES[1], ("yandere:20", "gelbooru:10", "md5", 1.0)]
    second = run(tmp_path, keys, edges)
    assert "danbooru:2" not in ids_by_key(second)
    state = load_state(Lake(str(tmp_path)))
    history = {row["image_key"]: row["image_id"] for row in state.assignment.to_pylist()}
    assert history["danbooru:2"] == first["danbooru:2"]  # kept as it was
    assert load_state(Lake(str(tmp_path))).redirects.to_pylist() == [
        {"retired_id": first["danbooru:2"], "image_id": first["danbooru:1"], "retired_run": 2}
    ]
    # Back in its old company, it resolves through the redirect to the survivor.
    back = [*edges, ("danbooru:2", "yandere:20", "embedding", 0.97)]
    third = ids_by_key(run(tmp_path, [*keys, "danbooru:2"], back))
    assert third["danbooru:2"] == third["yandere:20"] == first["danbooru:1"]


def test_retired_id_is_never_revived(tmp_path: Path) -> None:
    first = ids_by_key(run(tmp_path, BASE_KEYS, BASE_EDGES))
    merged = [*BASE_EDGES, ("yandere:20", "gelbooru:10", "md5", 1.0)]
    run(tmp_path, BASE_KEYS, merged)  # danbooru:2's ID is retired into danbooru:1's
    # Split off again, {danbooru:2, yandere:20} is the minority part: it gets a brand-new ID.
    alone = ids_by_key(run(tmp_path, BASE_KEYS, BASE_EDGES))
    assert alone["danbooru:2"] == alone["yandere:20"]
    assert alone["danbooru:2"] not in {first["danbooru:1"], first["danbooru:2"]}


def test_killed_commit_leaves_previous_state(tmp_path: Path, monkeypatch) -> None:
    first = run(tmp_path, BASE_KEYS, BASE_EDGES)
    before = state_files(tmp_path)
    real_put = obstore.put

    def put_but_die_on_manifest(store, path, data, **kwargs):
        if path == MANIFEST_PATH:
            raise RuntimeError("killed")
        return real_put(store, path, data, **kwargs)

    monkeypatch.setattr(obstore, "put", put_but_die_on_manifest)
    with pytest.raises(RuntimeError, match="killed"):
        run(tmp_path, [*BASE_KEYS, "konachan:3"], BASE_EDGES)
    monkeypatch.undo()

    assert state_files(tmp_path)[MANIFEST_PATH] == before[MANIFEST_PATH]
    assert load_state(Lake(str(tmp_path))).run == 1
    again = run(tmp_path, BASE_KEYS, BASE_EDGES)
    assert not again.committed and again.identity.equals(first.identity)
    retried = run(tmp_path, [*BASE_KEYS, "konachan:3"], BASE_EDGES)
    assert retried.state.run == 2
    assert sorted(state_files(tmp_path)) == sorted(
        [MANIFEST_PATH]
        + [
            f"state/identity/runs/000002/{n}.parquet"
            for n in ("assignment", "ids", "redirects", "splits")
        ]
    )


def test_guard_split_is_reported_in_state(tmp_path: Path) -> None:
    keys = [f"d:{i}" for i in range(6)]
    edges: list[Edge] = [(f"d:{i}", f"d:{i + 1}", "embedding", 0.9 + i / 100) for i in range(5)]
    result = run(tmp_path, keys, edges, IdentitySettings(max_cluster_size=3, split_threshold=0.92))
    assert result.identity["was_split"].to_pylist() == [True] * 6
    # >= 0.92 keeps d:2..d:5 (4 keys, still too big); 0.94 and 0.93 fit, 0.92 is cut.
    assert result.identity["cluster_size"].to_pylist() == [1, 1, 1, 3, 3, 3]
    splits = load_state(Lake(str(tmp_path))).splits
    assert splits["image_key"].to_pylist() == keys
    assert set(splits["component_key"].to_pylist()) == {"d:0"}


def test_batch_minting_gives_the_ids_of_minting_one_by_one():
    seeds = ["danbooru:1", "pixiv:7_p0", "yandere:3", "zerochan:九"]
    fresh = [mint_id(seed, set()) for seed in seeds]
    assert mint_ids(pa.array(seeds), pa.array([], pa.string())).to_pylist() == fresh
    # danbooru:1's first choice is taken already, so it must take its retry sequence.
    one_by_one, taken = [], {fresh[0]}
    for seed in seeds:
        one_by_one.append(mint_id(seed, taken))
        taken.add(one_by_one[-1])
    assert one_by_one[0] != fresh[0]
    assert mint_ids(pa.array(seeds), pa.array([fresh[0]])).to_pylist() == one_by_one


def test_id_numbers_sort_like_the_ids_and_refuse_other_strings():
    ids = [mint_id(f"danbooru:{n}", set()) for n in range(200)]
    ids += ["img_0000000000000000", "img_ffffffffffffffff", "img_8000000000000000"]
    numbers = id_numbers(pa.chunked_array([ids[:50], ids[50:]]))
    assert [ids[i] for i in numbers.argsort()] == sorted(ids)
    assert numbers[-3:].tolist() == [0, 2**64 - 1, 2**63]
    for bad in ["img_0123", "img_ABCDEF0123456789", "abc_0123456789abcdef", "img_0123456789abcdeg"]:
        with pytest.raises(ValueError, match="image ID"):
            id_numbers(pa.array([ids[0], bad]))


def test_state_assigning_an_unissued_id_is_refused(tmp_path: Path) -> None:
    first = run(tmp_path, BASE_KEYS, BASE_EDGES)
    lake = Lake(str(tmp_path))
    broken = IdentityState(
        run=first.state.run,
        assignment=first.state.assignment,
        ids=first.state.ids.slice(1),
        redirects=first.state.redirects,
        splits=first.state.splits,
    )
    save_state(lake, broken)
    with pytest.raises(ValueError, match="assigned but never issued"):
        run(tmp_path, BASE_KEYS, BASE_EDGES)


def test_records_hold_members_splits_and_redirects(tmp_path: Path) -> None:
    run(tmp_path, BASE_KEYS, BASE_EDGES)
    chain = [f"d:{i}" for i in range(6)]
    keys = [*BASE_KEYS, *chain]
    edges = [
        *BASE_EDGES,
        ("yandere:20", "gelbooru:10", "md5", 1.0),  # merges two clusters: one redirect
        *[(chain[i], chain[i + 1], "embedding", 0.9) for i in range(5)],  # split by the guard
    ]
    result = run(tmp_path, keys, edges, IdentitySettings(max_cluster_size=5, split_threshold=0.95))
    records = result.records()
    assert records.schema.equals(RECORDS_SCHEMA)
    kinds = records["record_kind"].to_pylist()
    assert kinds == ["member"] * len(keys) + ["split"] * len(chain) + ["redirect"]

    def of_kind(kind: str) -> pa.Table:
        return records.filter(pa.compute.equal(records["record_kind"], kind))

    def rows(kind: str, schema: pa.Schema) -> pa.Table:
        """The records of `kind` with their details as typed columns, in `schema`."""
        table = of_kind(kind)
        typed = {name: table[name] for name in schema.names if name in RECORDS_SCHEMA.names}
        own = [name for name in schema.names if name not in typed]
        details = [json.loads(text) for text in table["details"].to_pylist()] if own else []
        columns = typed | {name: [row[name] for row in details] for name in own}
        return pa.table(columns).select(schema.names).cast(schema)

    assert rows("member", IDENTITY_SCHEMA).equals(result.identity)
    assert rows("split", SPLITS_SCHEMA).equals(result.splits)
    assert rows("redirect", REDIRECTS_SCHEMA).equals(result.redirects)
    assert result.redirects.num_rows == 1 and result.splits.num_rows == len(chain)
    # Details hold exactly a kind's other columns; members, which have none, have no details.
    (redirect,) = of_kind("redirect")["details"].to_pylist()
    assert list(json.loads(redirect)) == ["retired_id", "retired_run"]
    assert of_kind("member")["details"].null_count == len(keys)


def test_state_written_by_format_1_is_still_read(tmp_path: Path) -> None:
    """Format 1 kept each file's sha256 in its entry of the manifest's `files`."""
    first = run(tmp_path, BASE_KEYS, BASE_EDGES)
    lake = Lake(str(tmp_path))
    manifest = lake.get_json(MANIFEST_PATH)
    digests = manifest.pop("sha256")
    for entry in manifest["files"].values():
        entry["sha256"] = digests[entry["path"]]
    lake.put_json(MANIFEST_PATH, {**manifest, "format_version": 1})
    assert load_state(lake).same_content(first.state)
    assert not run(tmp_path, BASE_KEYS, BASE_EDGES).committed


def test_tampered_state_file_is_refused(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    build_identity(nodes_table(["a:1", "b:1"]), edges_table([]), lake, SETTINGS)
    (assignment,) = (tmp_path / "lake" / "state" / "identity").rglob("assignment.parquet")
    assignment.write_bytes(assignment.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="sha256"):
        load_state(lake)
