"""Publishing versions to a local lake, read back with HF datasets, webdataset and DuckDB."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dataproc.export import (
    EmptyExportError,
    ExportSettings,
    ImageFetchError,
    complete_versions,
    publish,
    read_latest,
)
from dataproc.lake import Lake
from PIL import Image
from test_export_lakes import IMAGE_SPECS, SHARD_URI, lake_files, write_export_lake

DATASET = "anime-demo"
PIPELINE_VARS = {"prefilter": {"min_side": 256}}


def _publish(lake: Path, rows: pa.Table, *, invocation_id: str = "inv-1", **overrides):
    settings = {
        "dataset": DATASET,
        "layouts": ("webdataset",),
        "image_format": "original",
        "shard_size": 3,
        "rows_per_part": 4,
        "pipeline_vars": PIPELINE_VARS,
        **overrides,
    }
    return publish(
        rows,
        Lake(str(lake)),
        ExportSettings(**settings),
        invocation_id=invocation_id,
        git_commit="0" * 40,
    )


def _version_dir(lake: Path, version: str) -> Path:
    return lake / "exports" / DATASET / version


def _manifest(lake: Path, version: str) -> dict:
    return json.loads((_version_dir(lake, version) / "manifest.json").read_text("utf-8"))


@pytest.fixture
def lake(tmp_path: Path):
    root = tmp_path / "lake"
    built = write_export_lake(Lake(str(root)))
    return root, built


def test_publish_reads_back_with_datasets_webdataset_and_duckdb(lake, tmp_path, monkeypatch):
    root, built = lake
    result = _publish(root, built.rows)
    assert (result.version, result.parent_version, result.rows) == ("v0001", None, 7)
    version = _version_dir(root, "v0001")
    parts = sorted((version / "metadata").glob("*.parquet"))
    shards = sorted((version / "shards").glob("*.tar"))
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    assert [p.name for p in shards] == ["shard-00000.tar", "shard-00001.tar", "shard-00002.tar"]
    assert any(row["image_offset"] > 0 for row in built.rows.to_pylist())

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    import datasets

    loaded = datasets.load_dataset(
        "parquet",
        data_files=str(version / "metadata" / "*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "hf_cache"),
    )
    expected_ids = sorted(spec[0] for spec in IMAGE_SPECS)
    assert loaded.num_rows == 7
    assert loaded["image_id"] == expected_ids
    prompts = dict(zip(loaded["image_id"], loaded["prompt"], strict=True))
    assert prompts == {spec[0]: spec[3] for spec in IMAGE_SPECS}
    first = loaded[0]
    assert first["sections"]["count"] == ["1girl"]
    assert first["member_keys"] == ["danbooru:1000", "zerochan:2000"]

    import webdataset

    samples = list(webdataset.WebDataset([str(p) for p in shards], shardshuffle=False))
    assert [s["__key__"] for s in samples] == expected_ids
    for sample in samples:
        key = sample["__key__"]
        ext = next(spec[1] for spec in IMAGE_SPECS if spec[0] == key)
        assert sample[ext] == built.images[key]
        with Image.open(io.BytesIO(sample[ext])) as image:
            image.load()
            assert image.width > 0
        assert sample["txt"].decode("utf-8") == prompts[key]
        record = json.loads(sample["json"])
        assert record["image_id"] == key and record["prompt"] == prompts[key]
        assert list(record) == sorted(record)

    count = duckdb.sql(
        f"select count(*), count(distinct image_id) "
        f"from read_parquet('{version}/metadata/*.parquet')"
    ).fetchone()
    assert count == (7, 7)


def test_manifest_describes_every_file(lake):
    root, built = lake
    _publish(root, built.rows)
    manifest = _manifest(root, "v0001")
    version = _version_dir(root, "v0001")
    assert manifest["dataset"] == DATASET and manifest["version"] == "v0001"
    assert manifest["parent_version"] is None
    assert manifest["dbt_invocation_id"] == "inv-1" and manifest["git_commit"] == "0" * 40
    assert manifest["config"] == {
        "dataset": DATASET,
        "layouts": ["webdataset"],
        "image_format": "original",
        "image_quality": 95,
        "shard_size": 3,
        "kohya_repeats": 1,
        "rows_per_part": 4,
        "abandoned_after_hours": 24.0,
        "pipeline_vars": PIPELINE_VARS,
    }
    assert manifest["counts"] == {
        "rows": 7,
        "images": 7,
        "metadata_files": 2,
        "shard_files": 3,
        "kohya_images": 0,
    }
    on_disk = sorted(p.relative_to(version).as_posix() for p in version.rglob("*") if p.is_file())
    assert on_disk == sorted([f["path"] for f in manifest["files"]] + ["manifest.json", "run.json"])
    claim = json.loads((version / "run.json").read_text())
    assert claim == {"dbt_invocation_id": "inv-1", "run_id": manifest["run_id"]}
    for entry in manifest["files"]:
        data = (version / entry["path"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert [f["rows"] for f in manifest["files"]] == [4, 3, 3, 3, 1]
    assert [field["name"] for field in manifest["schema"]] == built.rows.column_names
    parquet_schema = pq.read_schema(version / "metadata" / "part-00000.parquet")
    assert parquet_schema.names == built.rows.column_names
    assert json.loads((root / "exports" / DATASET / "latest").read_text()) == {
        "dataset": DATASET,
        "manifest": "v0001/manifest.json",
        "version": "v0001",
    }


def test_versions_increment_with_parent(lake):
    root, built = lake
    _publish(root, built.rows)
    second = _publish(root, built.rows.slice(0, 5), layouts=(), invocation_id="inv-2")
    assert (second.version, second.parent_version, second.rows) == ("v0002", "v0001", 5)
    manifest = _manifest(root, "v0002")
    assert manifest["parent_version"] == "v0001"
    assert manifest["counts"]["shard_files"] == 0
    assert not (_version_dir(root, "v0002") / "shards").exists()
    assert read_latest(Lake(str(root)), DATASET) == "v0002"
    assert complete_versions(Lake(str(root)), DATASET) == [1, 2]


def test_a_claimed_folder_is_never_written_by_another_run(lake):
    root, built = lake
    _publish(root, built.rows)
    claimed = Lake(str(root))
    claimed.put(f"exports/{DATASET}/v0002/run.json", b'{"run_id": "someone-else"}')
    result = _publish(root, built.rows.slice(0, 3))
    assert (result.version, result.parent_version) == ("v0003", "v0001")
    v2 = sorted(p.name for p in _version_dir(root, "v0002").rglob("*") if p.is_file())
    assert v2 == ["run.json"]
    assert read_latest(claimed, DATASET) == "v0003"


def test_failed_export_commits_nothing_and_keeps_latest(lake):
    root, built = lake
    _publish(root, built.rows)
    latest_before = (root / "exports" / DATASET / "latest").read_bytes()
    # The last image (in image_id order) points at a missing object: the first shards are
    # written before the failure, then removed again.
    uris = built.rows["image_uri"].to_pylist()
    last = built.rows["image_id"].to_pylist().index(max(built.rows["image_id"].to_pylist()))
    uris[last] = "images/danbooru/missing.png"
    broken = built.rows.set_column(
        built.rows.schema.get_field_index("image_uri"), "image_uri", pa.array(uris)
    )
    with pytest.raises(ImageFetchError, match="missing.png"):
        _publish(root, broken)
    v2 = _version_dir(root, "v0002")
    assert not (v2 / "manifest.json").exists()
    assert not [p for p in v2.rglob("*") if p.is_file()]
    assert (root / "exports" / DATASET / "latest").read_bytes() == latest_before
    assert complete_versions(Lake(str(root)), DATASET) == [1]


def test_files_of_a_killed_publish_never_enter_a_version(lake):
    """A kill -9 leaves written files and a store's half-written temp file (`#1`)."""
    root, built = lake
    _publish(root, built.rows)
    lake = Lake(str(root))
    lake.put(f"exports/{DATASET}/v0002/run.json", b'{"run_id": "killed"}')
    lake.put(f"exports/{DATASET}/v0002/metadata/part-00000.parquet", b"partial")
    partial = _version_dir(root, "v0002") / "shards" / "shard-00000.tar#1"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"partial")
    assert complete_versions(lake, DATASET) == [1]
    result = _publish(root, built.rows.slice(0, 5))
    v3 = _version_dir(root, result.version)
    on_disk = sorted(p.relative_to(v3).as_posix() for p in v3.rglob("*") if p.is_file())
    assert not [path for path in on_disk if "#" in path], on_disk
    assert (result.version, result.parent_version) == ("v0003", "v0001")
    manifest = _manifest(root, "v0003")
    assert on_disk == sorted([f["path"] for f in manifest["files"]] + ["manifest.json", "run.json"])
    assert pq.read_table(v3 / "metadata" / "part-00000.parquet").num_rows == 4
    # The killed run's folder is young: it is left alone, not taken over.
    assert (_version_dir(root, "v0002") / "metadata" / "part-00000.parquet").exists()
    assert read_latest(lake, DATASET) == "v0003"


def test_same_rows_give_byte_identical_files(tmp_path):
    lakes = [tmp_path / "a", tmp_path / "b"]
    for index, root in enumerate(lakes):
        built = write_export_lake(Lake(str(root)))
        rows = built.rows if index == 0 else built.rows.take(pa.array([3, 0, 6, 1, 5, 2, 4]))
        _publish(root, rows, invocation_id=f"inv-{index}")
    first, second = (lake_files(root) for root in lakes)
    assert first.keys() == second.keys()
    manifest = f"exports/{DATASET}/v0001/manifest.json"
    for path in first:
        if path not in (manifest, f"exports/{DATASET}/v0001/run.json"):
            assert first[path] == second[path], path
    volatile = {"created_at", "dbt_invocation_id", "run_id"}
    one, two = (
        {k: v for k, v in json.loads(files[manifest]).items() if k not in volatile}
        for files in (first, second)
    )
    assert one == two


def test_image_bytes_come_from_ranged_reads_of_the_shard(lake):
    root, built = lake
    _publish(root, built.rows, shard_size=100)
    shard = (_version_dir(root, "v0001") / "shards" / "shard-00000.tar").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(shard)) as tar:
        members = tar.getmembers()
        assert all(
            (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)
            for m in members
        )
        names = [m.name for m in members]
        from_shard = [r for r in built.rows.to_pylist() if r["image_uri"] == SHARD_URI]
        for row in from_shard:
            member = tar.extractfile(f"{row['image_id']}.{row['image_ext']}")
            assert member is not None and member.read() == built.images[row["image_id"]]
    assert len(names) == 3 * 7


def test_empty_rows_are_never_published(tmp_path):
    root = tmp_path / "lake"
    built = write_export_lake(Lake(str(root)))
    with pytest.raises(EmptyExportError, match="never published"):
        _publish(root, built.rows.slice(0, 0))
    assert not (root / "exports").exists() or not list((root / "exports").rglob("*.*"))


def test_rows_without_an_image_are_exported_without_a_shard(lake):
    """A metadata-only lake: every row is exported, its image columns NULL, no shard for it."""
    root, built = lake
    rows = built.rows
    for name in ("image_uri", "image_offset", "image_length", "image_ext"):
        index = rows.schema.get_field_index(name)
        values = rows[name].to_pylist()
        values[0] = values[3] = None
        rows = rows.set_column(index, name, pa.array(values, rows.schema.field(name).type))
    result = _publish(root, rows, shard_size=100)
    assert result.rows == 7
    manifest = _manifest(root, "v0001")
    assert manifest["counts"] == {
        "rows": 7,
        "images": 5,
        "metadata_files": 2,
        "shard_files": 1,
        "kohya_images": 0,
    }
    parts = pa.concat_tables(
        pq.read_table(p) for p in sorted((_version_dir(root, "v0001") / "metadata").glob("*"))
    )
    assert parts["image_uri"].null_count == 2 and parts.num_rows == 7
