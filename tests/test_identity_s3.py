"""Identity state on a real S3 endpoint (moto's server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pyarrow as pa
import pytest
from dataproc.identity import IdentitySettings, build_identity, read_redirects
from moto.server import ThreadedMotoServer

BUCKET = "lake"
PREFIX = "team/prod"


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _tables(keys: list[str], edges: list[tuple[str, str]]) -> tuple[pa.Table, pa.Table]:
    nodes = pa.table({"image_key": keys})
    edge_table = pa.table(
        {
            "left_key": [left for left, _ in edges],
            "right_key": [right for _, right in edges],
            "kind": ["md5"] * len(edges),
            "score": [1.0] * len(edges),
        }
    )
    return nodes, edge_table


def _objects(endpoint: str) -> dict[str, bytes]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed
    }


def _state_objects(run: int) -> list[str]:
    names = ("assignment", "ids", "redirects", "splits")
    runs = [f"{PREFIX}/state/identity/runs/{run:06d}/{name}.parquet" for name in names]
    return [f"{PREFIX}/state/identity/manifest.json", *runs]


def test_identity_state_persists_on_s3(s3_endpoint: str) -> None:
    lake = f"s3://{BUCKET}/{PREFIX}"
    settings = IdentitySettings(max_cluster_size=10, split_threshold=0.95)
    keys = ["danbooru:1", "gelbooru:1", "danbooru:2", "gelbooru:2"]
    pairs = [("danbooru:1", "gelbooru:1"), ("danbooru:2", "gelbooru:2")]
    first = build_identity(*_tables(keys, pairs), lake, settings)
    objects = _objects(s3_endpoint)
    assert sorted(objects) == _state_objects(1)

    again = build_identity(*_tables(list(reversed(keys)), pairs), lake, settings)
    assert not again.committed and again.identity.equals(first.identity)
    assert _objects(s3_endpoint) == objects

    ids = {row["image_key"]: row["image_id"] for row in first.identity.to_pylist()}
    assert ids["danbooru:1"] != ids["danbooru:2"]
    # Both clusters are from run 1: the tie goes to the smaller ID string.
    survivor, retired = sorted([ids["danbooru:1"], ids["danbooru:2"]])
    merged = build_identity(*_tables(keys, [*pairs, ("gelbooru:1", "gelbooru:2")]), lake, settings)
    assert set(merged.identity["image_id"].to_pylist()) == {survivor}
    assert read_redirects(lake).to_pylist() == [
        {"retired_id": retired, "image_id": survivor, "retired_run": 2}
    ]
    assert sorted(_objects(s3_endpoint)) == _state_objects(2)
