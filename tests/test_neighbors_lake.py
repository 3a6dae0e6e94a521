"""The persisted neighbour index in the lake: local directory and S3 (moto), commit safety."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from dataproc.lake import Lake
from dataproc.neighbours.edges import find_near_duplicates, near_duplicate_edges
from dataproc.neighbours.state import load_index_state
from synthetic_vectors import duplicate_groups, embeddings_table

THRESHOLD = 0.95
TAG = "ViT-B-32:laion2b@0123abcd"


@pytest.fixture
def s3_lake(s3_endpoint, monkeypatch, request) -> str:
    """`s3://<bucket>/<test name>`, with the AWS_* variables pointing at the moto endpoint."""
    for name, value in s3_endpoint.env.items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_endpoint.bucket}/{request.node.name}"


def two_batches(seed: int = 3) -> tuple[pa.Table, pa.Table]:
    keys, vectors, _ = duplicate_groups([2, 3, 6, 4] * 5, 600, 32, seed)
    table = embeddings_table(keys, vectors)
    half = np.random.default_rng(seed).permutation(len(keys))[: len(keys) // 2]
    return table.take(pa.array(np.sort(half))), table


def check_reload_and_extend(root: str) -> None:
    """Persist a first batch, reopen the lake, extend with the rest, compare with a full run."""
    first, everything = two_batches()
    find_near_duplicates(first, THRESHOLD, lake=Lake(root), model_tag=TAG)

    reopened = Lake(root)  # a fresh lake object: nothing shared in memory
    state = load_index_state(reopened, TAG)
    assert state is not None
    assert len(state.index) == len(first) == len(state.keys)
    assert sorted(state.keys.to_pylist()) == state.keys.to_pylist()
    assert state.generation == 1
    # The reloaded index answers queries: each vector finds itself.
    vectors = np.stack(first.column("embedding").to_numpy(zero_copy_only=False)[:5])
    found = state.index.search(vectors.astype(np.float32), count=1)
    labels = [state.keys.to_pylist().index(k) for k in first.column("image_key").to_pylist()[:5]]
    assert found.keys[:, 0].tolist() == labels

    run = find_near_duplicates(everything, THRESHOLD, lake=reopened, model_tag=TAG)
    assert (run.added, run.rebuilt, run.generation) == (len(everything) - len(first), "", 2)
    assert run.edges.equals(near_duplicate_edges(everything, THRESHOLD))
    assert len(run.edges) > 0


def test_index_reloads_from_a_local_lake(tmp_path) -> None:
    root = str(tmp_path / "lake")
    check_reload_and_extend(root)
    names = sorted(p.name for p in (tmp_path / "lake/state/index" / TAG).iterdir())
    assert names == [
        "index-000002.usearch",
        "labels-000002.parquet",
        "manifest.json",
        "pairs-000002.parquet",
    ]


def test_index_reloads_from_s3(s3_lake, s3_endpoint) -> None:
    check_reload_and_extend(s3_lake)
    bucket, prefix = s3_lake.removeprefix("s3://").split("/", 1)
    client = s3_endpoint.client()
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/state/index/{TAG}/")
    names = sorted(obj["Key"].rsplit("/", 1)[1] for obj in listed["Contents"])
    assert names == [
        "index-000002.usearch",
        "labels-000002.parquet",
        "manifest.json",
        "pairs-000002.parquet",
    ]
    body = client.get_object(Bucket=bucket, Key=f"{prefix}/state/index/{TAG}/manifest.json")["Body"]
    manifest = json.loads(body.read())
    assert manifest["size"] == len(two_batches()[1])


def test_killed_write_leaves_the_previous_index(tmp_path, monkeypatch) -> None:
    first, everything = two_batches()
    root = str(tmp_path / "lake")
    lake = Lake(root)
    committed = find_near_duplicates(first, THRESHOLD, lake=lake, model_tag=TAG)

    real_put = lake.put

    def put_until_manifest(path, data, mode="overwrite"):
        if path.endswith("manifest.json"):
            raise KeyboardInterrupt("killed before the commit point")
        return real_put(path, data, mode=mode)

    monkeypatch.setattr(lake, "put", put_until_manifest)
    with pytest.raises(KeyboardInterrupt):
        find_near_duplicates(everything, THRESHOLD, lake=lake, model_tag=TAG)
    monkeypatch.setattr(lake, "put", real_put)

    survivor = load_index_state(Lake(root), TAG)
    assert survivor is not None
    assert (survivor.generation, committed.generation) == (1, 1)
    assert survivor.keys.to_pylist() == sorted(first.column("image_key").to_pylist())
    assert len(survivor.index) == len(first)

    resumed = find_near_duplicates(everything, THRESHOLD, lake=lake, model_tag=TAG)
    assert resumed.edges.equals(near_duplicate_edges(everything, THRESHOLD))
    names = sorted(p.name for p in (tmp_path / "lake/state/index" / TAG).iterdir())
    assert all("000002" in name or name == "manifest.json" for name in names)


def test_tampered_index_file_is_refused(tmp_path) -> None:
    first, _ = two_batches()
    lake = Lake(str(tmp_path / "lake"))
    find_near_duplicates(first, THRESHOLD, lake=lake, model_tag=TAG)
    labels = tmp_path / "lake/state/index" / TAG / "labels-000001.parquet"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="sha256"):
        load_index_state(lake, TAG)
