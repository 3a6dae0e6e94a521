"""The persisted neighbour index in the lake: local directory and S3 (moto), commit safety."""

from __future__ import annotations

import json

import dataproc.neighbors.state as state_module
import numpy as np
import pyarrow as pa
import pytest
from dataproc.lake import open_store
from dataproc.neighbors import find_near_duplicates, load_index_state, near_duplicate_edges
from dataproc.neighbors.synthetic import duplicate_groups, embeddings_table

THRESHOLD = 0.95
TAG = "ViT-B-32:laion2b@0123abcd"


@pytest.fixture(scope="module")
def moto_endpoint():
    """A real S3 HTTP endpoint on loopback (moto's threaded server, free port)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_lake(moto_endpoint, monkeypatch, request) -> str:
    """`s3://<fresh bucket>/prefix`, with the AWS_* variables pointing at the moto endpoint."""
    import boto3

    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bucket = request.node.name.replace("_", "-")[:50].lower()
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return f"s3://{bucket}/prefix"


def two_batches(seed: int = 3) -> tuple[pa.Table, pa.Table]:
    keys, vectors, _ = duplicate_groups([2, 3, 6, 4] * 5, 600, 32, seed)
    table = embeddings_table(keys, vectors)
    half = np.random.default_rng(seed).permutation(len(keys))[: len(keys) // 2]
    return table.take(pa.array(np.sort(half))), table


def check_reload_and_extend(root: str) -> None:
    """Persist a first batch, reopen the lake, extend with the rest, compare with a full run."""
    first, everything = two_batches()
    find_near_duplicates(first, THRESHOLD, store=open_store(root), model_tag=TAG)

    reopened = open_store(root)  # a fresh store object: nothing shared in memory
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

    run = find_near_duplicates(everything, THRESHOLD, store=reopened, model_tag=TAG)
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


def test_index_reloads_from_s3(s3_lake) -> None:
    import boto3

    check_reload_and_extend(s3_lake)
    bucket = s3_lake.removeprefix("s3://").split("/")[0]
    client = boto3.client("s3")
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"prefix/state/index/{TAG}/")
    names = sorted(obj["Key"].rsplit("/", 1)[1] for obj in listed["Contents"])
    assert names == [
        "index-000002.usearch",
        "labels-000002.parquet",
        "manifest.json",
        "pairs-000002.parquet",
    ]
    body = client.get_object(Bucket=bucket, Key=f"prefix/state/index/{TAG}/manifest.json")["Body"]
    manifest = json.loads(body.read())
    assert manifest["size"] == len(two_batches()[1])


def test_killed_write_leaves_the_previous_index(tmp_path, monkeypatch) -> None:
    first, everything = two_batches()
    root = str(tmp_path / "lake")
    store = open_store(root)
    committed = find_near_duplicates(first, THRESHOLD, store=store, model_tag=TAG)

    real_put = state_module.obstore.put

    def put_until_manifest(store, path, body, **kwargs):
        if path.endswith("manifest.json"):
            raise KeyboardInterrupt("killed before the commit point")
        return real_put(store, path, body, **kwargs)

    monkeypatch.setattr(state_module.obstore, "put", put_until_manifest)
    with pytest.raises(KeyboardInterrupt):
        find_near_duplicates(everything, THRESHOLD, store=store, model_tag=TAG)
    monkeypatch.setattr(state_module.obstore, "put", real_put)

    survivor = load_index_state(open_store(root), TAG)
    assert survivor is not None
    assert (survivor.generation, committed.generation) == (1, 1)
    assert survivor.keys.to_pylist() == sorted(first.column("image_key").to_pylist())
    assert len(survivor.index) == len(first)

    resumed = find_near_duplicates(everything, THRESHOLD, store=store, model_tag=TAG)
    assert resumed.edges.equals(near_duplicate_edges(everything, THRESHOLD))
    names = sorted(p.name for p in (tmp_path / "lake/state/index" / TAG).iterdir())
    assert all("000002" in name or name == "manifest.json" for name in names)


def test_tampered_index_file_is_refused(tmp_path) -> None:
    first, _ = two_batches()
    store = open_store(str(tmp_path / "lake"))
    find_near_duplicates(first, THRESHOLD, store=store, model_tag=TAG)
    labels = tmp_path / "lake/state/index" / TAG / "labels-000001.parquet"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match="sha256"):
        load_index_state(store, TAG)
