"""`dataproc demo --lake s3://...` writes the same bytes to S3 as to a directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from dataproc.demo import generate_lake


def test_s3_lake_matches_local_lake(
    s3_endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_endpoint.env.items():
        monkeypatch.setenv(name, value)
    prefix = "demo-lake"
    generate_lake(f"s3://{s3_endpoint.bucket}/{prefix}", posts=15, seed=9)
    generate_lake(str(tmp_path), posts=15, seed=9)

    client = s3_endpoint.client()
    remote: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=s3_endpoint.bucket, Prefix=prefix + "/"
    ):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=s3_endpoint.bucket, Key=item["Key"])["Body"].read()
            remote[item["Key"][len(prefix) + 1 :]] = hashlib.sha256(body).hexdigest()
    local = {
        str(p.relative_to(tmp_path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in tmp_path.rglob("*")
        if p.is_file()
    }
    assert remote == local
    assert any(key.startswith("shards/gelbooru/") for key in remote)

    report = generate_lake(f"s3://{s3_endpoint.bucket}/{prefix}", posts=15, seed=9, images=False)
    assert report.stale_removed > 0
