"""Publishing on a bad day: a broken `latest`, an unchanged rebuild, abandoned runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from dataproc.export import ExportSettings, complete_versions, publish, read_latest
from dataproc.lake import Lake
from test_export_lakes import write_export_lake

DATASET = "anime"


def _publish(lake: Lake, rows, **overrides):
    settings = ExportSettings(**{"dataset": DATASET, "shard_size": 4, **overrides})
    return publish(rows, lake, settings, invocation_id="inv", git_commit=None)


@pytest.fixture
def lake(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    return lake, write_export_lake(lake).rows


def _latest_file(lake: Lake) -> Path:
    return Path(lake.root) / "exports" / DATASET / "latest"


def test_an_unchanged_rebuild_publishes_nothing(lake):
    lake, rows = lake
    first = _publish(lake, rows)
    again = _publish(lake, rows.take([3, 1, 0, 2, 6, 5, 4]))
    assert complete_versions(lake, DATASET) == [1]
    assert (first.status, again.status) == ("published", "unchanged")
    assert (again.version, again.rows, again.manifest_path) == (
        "v0001",
        7,
        first.manifest_path,
    )
    assert complete_versions(lake, DATASET) == [1]
    folder = Path(lake.root) / "exports" / DATASET
    assert sorted(p.name for p in folder.iterdir()) == ["latest", "v0001"]
    changed = _publish(lake, rows.slice(0, 6))
    assert (changed.status, changed.version, changed.parent_version) == (
        "published",
        "v0002",
        "v0001",
    )


@pytest.mark.parametrize(
    "pointer, problem",
    [(b"{not json", "unreadable"), (b'{"version": "v0009"}', "'v0009', which is not a complete")],
)
def test_a_broken_latest_is_repaired_and_reported(lake, pointer, problem):
    lake, rows = lake
    _publish(lake, rows)
    _latest_file(lake).write_bytes(pointer)
    result = _publish(lake, rows.slice(0, 5))
    assert result.version == "v0002"
    assert read_latest(lake, DATASET) == "v0002"
    assert any(problem in note and "repaired" in note for note in result.notes), result.notes
    # A retry publishes nothing more.
    assert _publish(lake, rows.slice(0, 5)).status == "unchanged"
    assert complete_versions(lake, DATASET) == [1, 2]


def test_an_unchanged_rebuild_repairs_a_broken_latest(lake):
    lake, rows = lake
    _publish(lake, rows)
    _latest_file(lake).write_bytes(b'{"version": "v0009"}')
    result = _publish(lake, rows)
    assert read_latest(lake, DATASET) == "v0001"
    assert result.status == "unchanged" and any("repaired" in n for n in result.notes)


def test_abandoned_folders_are_cleaned_only_when_old(lake):
    lake, rows = lake
    _publish(lake, rows)
    lake.put("exports/anime/v0002/run.json", b'{"run_id": "crashed-run"}')
    lake.put("exports/anime/v0002/metadata/part-00000.parquet", b"partial")
    young = _publish(lake, rows.slice(0, 6))
    assert young.version == "v0003" and not young.notes
    assert lake.exists("exports/anime/v0002/run.json")
    old = time.time() - 3 * 3600
    for path in (Path(lake.root) / "exports" / DATASET / "v0002").rglob("*"):
        os.utime(path, (old, old))
    cleaned = _publish(lake, rows.slice(0, 5), abandoned_after_hours=2)
    assert any("crashed-run" in note and "v0002" in note for note in cleaned.notes)
    assert not lake.list("exports/anime/v0002")
    assert complete_versions(lake, DATASET) == [1, 3, 4]
    assert json.loads(lake.get("exports/anime/latest"))["version"] == "v0004"
