"""The image catalog of a lake on S3 (conftest's moto server on loopback) equals the local one."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import S3Endpoint
from dataproc.catalog import scan_lake
from dataproc.lake import Lake
from test_catalog_lakes import MixedLake, read_back

PREFIX = "catalog/team/lake"


@pytest.fixture
def s3_lake(s3_endpoint: S3Endpoint, tmp_path: Path) -> tuple[Lake, MixedLake]:
    lake = MixedLake(tmp_path / "lake")
    s3_endpoint.upload_dir(lake.root, PREFIX)
    return Lake(f"s3://{s3_endpoint.bucket}/{PREFIX}", env=s3_endpoint.env), lake


def test_s3_lake_exact_rows(s3_lake: tuple[Lake, MixedLake]):
    s3, lake = s3_lake
    result = scan_lake(s3)
    assert result.catalog.to_pylist() == lake.catalog
    assert result.rejects.to_pylist() == lake.rejects
    assert result.catalog.equals(scan_lake(Lake(str(lake.root))).catalog)

    for row in result.catalog.to_pylist():
        data = read_back(s3, row["uri"], row["offset"], row["length"])
        assert data == lake.images[row["image_key"]], row["image_key"]

    stats = {shard.uri: shard for shard in result.shards}
    for uri in ("shards/danbooru/000.tar", "shards/pixiv/000.tar"):
        assert 0 < stats[uri].bytes_read * 3 < stats[uri].size, stats[uri]


def test_s3_source_filter(s3_lake: tuple[Lake, MixedLake]):
    s3, lake = s3_lake
    result = scan_lake(s3, ["gelbooru"])
    assert result.catalog.to_pylist() == [r for r in lake.catalog if r["source"] == "gelbooru"]
    assert result.rejects.num_rows == 0
