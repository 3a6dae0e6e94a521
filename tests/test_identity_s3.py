"""Identity state on a real S3 endpoint (the session's moto server on loopback)."""

from __future__ import annotations

import pyarrow as pa
import pytest
from conftest import S3Endpoint
from dataproc.identity import IdentitySettings, build_identity
from dataproc.identity.state import load_state
from dataproc.lake import Lake


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


def _objects(s3: S3Endpoint, prefix: str) -> dict[str, bytes]:
    client = s3.client()
    listed = client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix + "/").get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=s3.bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


def _state_objects(prefix: str, run: int) -> list[str]:
    names = ("assignment", "ids", "redirects", "splits")
    runs = [f"{prefix}/state/identity/runs/{run:06d}/{name}.parquet" for name in names]
    return [f"{prefix}/state/identity/manifest.json", *runs]


def test_identity_state_persists_on_s3(
    s3_endpoint: S3Endpoint, request: pytest.FixtureRequest
) -> None:
    # The bucket is shared by the session: this test keeps to a prefix of its own.
    prefix = f"identity/{request.node.name}"
    lake = Lake(f"s3://{s3_endpoint.bucket}/{prefix}", env=s3_endpoint.env)
    settings = IdentitySettings(max_cluster_size=10, split_threshold=0.95)
    keys = ["danbooru:1", "gelbooru:1", "danbooru:2", "gelbooru:2"]
    pairs = [("danbooru:1", "gelbooru:1"), ("danbooru:2", "gelbooru:2")]
    first = build_identity(*_tables(keys, pairs), lake, settings)
    objects = _objects(s3_endpoint, prefix)
    assert sorted(objects) == _state_objects(prefix, 1)

    again = build_identity(*_tables(list(reversed(keys)), pairs), lake, settings)
    assert not again.committed and again.identity.equals(first.identity)
    assert _objects(s3_endpoint, prefix) == objects

    ids = {row["image_key"]: row["image_id"] for row in first.identity.to_pylist()}
    assert ids["danbooru:1"] != ids["danbooru:2"]
    # Both clusters are from run 1: the tie goes to the smaller ID string.
    survivor, retired = sorted([ids["danbooru:1"], ids["danbooru:2"]])
    merged = build_identity(*_tables(keys, [*pairs, ("gelbooru:1", "gelbooru:2")]), lake, settings)
    assert set(merged.identity["image_id"].to_pylist()) == {survivor}
    assert load_state(lake).redirects.to_pylist() == [
        {"retired_id": retired, "image_id": survivor, "retired_run": 2}
    ]
    assert sorted(_objects(s3_endpoint, prefix)) == _state_objects(prefix, 2)
