"""The image catalog of a lake on S3 (a moto server on loopback) equals the local one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from dataproc.catalog import scan_lake
from dataproc.lake import open_store
from moto.server import ThreadedMotoServer
from test_catalog_lakes import MixedLake, read_back

BUCKET = "catalog-lake"
PREFIX = "team/lake"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_lake(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, MixedLake]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lake = MixedLake(tmp_path / "lake")
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(lake.root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"{PREFIX}/{path.relative_to(lake.root)}")
    return f"s3://{BUCKET}/{PREFIX}", lake


def test_s3_lake_exact_rows(s3_lake: tuple[str, MixedLake]):
    root, lake = s3_lake
    result = scan_lake(root)
    assert result.catalog.to_pylist() == lake.catalog
    assert result.rejects.to_pylist() == lake.rejects
    assert result.catalog.equals(scan_lake(str(lake.root)).catalog)

    store = open_store(root)
    for row in result.catalog.to_pylist():
        data = read_back(store, row["uri"], row["offset"], row["length"])
        assert data == lake.images[row["image_key"]], row["image_key"]

    stats = {shard.uri: shard for shard in result.shards}
    for uri in ("shards/danbooru/000.tar", "shards/pixiv/000.tar"):
        assert 0 < stats[uri].bytes_read * 3 < stats[uri].size, stats[uri]


def test_s3_source_filter(s3_lake: tuple[str, MixedLake]):
    root, lake = s3_lake
    result = scan_lake(root, ["gelbooru"])
    assert result.catalog.to_pylist() == [r for r in lake.catalog if r["source"] == "gelbooru"]
    assert result.rejects.num_rows == 0
