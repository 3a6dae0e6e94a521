"""Publishing to S3 through the fault proxy: 5xx replies, delays and lost replies on PUT."""

from __future__ import annotations

import json
import uuid

from dataproc.export import ExportSettings, complete_versions, publish, read_latest
from dataproc.lake import Lake
from fault_proxy import FaultProxy, every_nth, first_of, lose_every_nth_put, lose_puts_to
from test_export_lakes import write_export_lake

SETTINGS = ExportSettings(dataset="anime", shard_size=4)


def _lake(endpoint_env: dict[str, str], url: str, root: str) -> Lake:
    return Lake(root, {**endpoint_env, "AWS_ENDPOINT_URL": url})


def test_lost_replies_to_create_only_puts_are_not_rival_publishers(s3_endpoint):
    """The server stores the claim, the manifest and `latest`, but each first reply is lost:
    the client's retry finds its own bytes there, which is a success."""
    root = f"s3://{s3_endpoint.bucket}/lost-{uuid.uuid4().hex[:8]}"
    rows = write_export_lake(Lake(root, s3_endpoint.env)).rows
    plan = first_of(*(lose_puts_to(name) for name in ("run.json", "manifest.json", "latest")))
    with FaultProxy(s3_endpoint.url, plan) as proxy:
        lake = _lake(s3_endpoint.env, proxy.url, root)
        result = publish(rows, lake, SETTINGS, invocation_id="inv", git_commit=None)
    assert proxy.injected["lost_put"] == 3
    assert (result.status, result.version) == ("published", "v0001")
    plain = Lake(root, s3_endpoint.env)
    assert complete_versions(plain, "anime") == [1] and read_latest(plain, "anime") == "v0001"


def test_publish_through_5xx_delays_and_lost_replies_equals_a_clean_one(s3_endpoint):
    roots = [f"s3://{s3_endpoint.bucket}/{kind}-{uuid.uuid4().hex[:8]}" for kind in "ab"]
    rows = [write_export_lake(Lake(root, s3_endpoint.env)).rows for root in roots][0]
    clean = publish(
        rows, Lake(roots[0], s3_endpoint.env), SETTINGS, invocation_id=None, git_commit=None
    )
    # Every 3rd request fails (503) or is delayed, and every 2nd PUT's reply is lost.
    plan = first_of(lose_every_nth_put(2), every_nth(3, ("error", "delay")))
    with FaultProxy(s3_endpoint.url, plan) as proxy:
        faulty = publish(
            rows,
            _lake(s3_endpoint.env, proxy.url, roots[1]),
            SETTINGS,
            invocation_id=None,
            git_commit=None,
        )
    assert min(proxy.injected[kind] for kind in ("error", "delay", "lost_put")) >= 1, proxy.injected
    assert faulty.status == "published" and faulty.version == clean.version
    a, b = (Lake(root, s3_endpoint.env) for root in roots)
    prefix = "exports/anime/v0001"
    files = json.loads(a.get(f"{prefix}/manifest.json"))["files"]
    assert files == json.loads(b.get(f"{prefix}/manifest.json"))["files"]
    for entry in files:
        assert a.get(f"{prefix}/{entry['path']}") == b.get(f"{prefix}/{entry['path']}")
