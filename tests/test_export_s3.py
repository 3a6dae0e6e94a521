"""Publishing to an S3 lake (moto server on loopback): versions, manifest and shards."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest
from dataproc.export import (
    ExportSettings,
    ImageFetchError,
    complete_versions,
    publish,
    read_latest,
)
from dataproc.lake import Lake
from test_export_lakes import write_export_lake


def test_publish_to_s3_and_read_back(s3_endpoint):
    root = f"s3://{s3_endpoint.bucket}/export-test"
    lake = Lake(root, s3_endpoint.env)
    built = write_export_lake(lake)
    settings = ExportSettings(
        dataset="anime", layouts=("webdataset",), image_format="original", shard_size=4
    )

    def publish_rows(rows, settings=settings):
        return publish(rows, lake, settings, invocation_id="inv-s3", git_commit=None)

    first = publish_rows(built.rows)
    assert (first.version, first.manifest_location) == (
        "v0001",
        f"{root}/exports/anime/v0001/manifest.json",
    )

    client = s3_endpoint.client()
    prefix = "export-test/exports/anime"

    def get(key: str) -> bytes:
        return client.get_object(Bucket=s3_endpoint.bucket, Key=f"{prefix}/{key}")["Body"].read()

    manifest = json.loads(get("v0001/manifest.json"))
    assert manifest["rows"] == 7 and manifest["counts"]["shard_files"] == 2
    shard_entry = next(f for f in manifest["files"] if f["path"] == "shards/shard-00000.tar")
    shard = get("v0001/shards/shard-00000.tar")
    assert hashlib.sha256(shard).hexdigest() == shard_entry["sha256"]
    with tarfile.open(fileobj=io.BytesIO(shard)) as tar:
        names = tar.getnames()
        first_id = sorted(built.images)[0]
        image = tar.extractfile(next(n for n in names if n.startswith(first_id + ".")))
        assert image is not None and image.read() == built.images[first_id]
    assert len(names) == 3 * 4

    rows = built.rows.to_pylist()
    rows[0]["image_uri"] = "images/danbooru/absent.png"
    broken = built.rows.from_pylist(rows, schema=built.rows.schema)
    with pytest.raises(ImageFetchError, match="absent.png"):
        publish_rows(broken)
    listed = client.list_objects_v2(Bucket=s3_endpoint.bucket, Prefix=f"{prefix}/v0002/")
    assert listed.get("KeyCount", 0) == 0

    second = publish_rows(built.rows, ExportSettings(dataset="anime", layouts=()))
    assert (second.version, second.parent_version) == ("v0002", "v0001")
    assert complete_versions(lake, "anime") == [1, 2]
    assert read_latest(lake, "anime") == "v0002"
    assert json.loads(get("latest"))["version"] == "v0002"
