"""Export building blocks: row checks, tar and JSON determinism, names, settings, writer."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import tarfile
from decimal import Decimal

import pyarrow as pa
import pytest
from dataproc.config import SettingsError, read_settings
from dataproc.export import ExportSettings, InvalidRowsError, VersionExistsError
from dataproc.export.layouts import tar_bytes
from dataproc.export.manifest import manifest_bytes
from dataproc.export.rows import (
    DEFAULT_IMAGE_COLUMNS,
    ImageColumns,
    json_value,
    prepare_rows,
    row_json,
    split_rows,
)
from dataproc.export.versions import (
    VersionWriter,
    dataset_prefix,
    is_dataset_name,
    move_latest,
    parse_version,
    read_latest,
    version_name,
)
from dataproc.lake import Lake, parquet_bytes

COLUMNS = ImageColumns.from_names(DEFAULT_IMAGE_COLUMNS)


def _rows(**overrides) -> pa.Table:
    data = {
        "image_id": ["img_b", "img_a"],
        "prompt": ["two", "one"],
        "image_uri": ["images/x/2.png", "images/x/1.png"],
        "image_offset": [0, 0],
        "image_length": [10, 20],
        "image_ext": ["png", "webp"],
    }
    data.update(overrides)
    return pa.table(data)


def test_prepare_rows_sorts_and_drops_schema_metadata():
    table = _rows().replace_schema_metadata({"writer": "x"})
    prepared = prepare_rows(table, COLUMNS, with_images=True)
    assert prepared["image_id"].to_pylist() == ["img_a", "img_b"]
    assert prepared["prompt"].to_pylist() == ["one", "two"]
    assert prepared.schema.metadata is None
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    assert prepare_rows(reader, COLUMNS, with_images=True).equals(prepared)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_id": ["img_a", "img_a"]}, "more than once"),
        ({"image_id": ["img_a", None]}, "null"),
        ({"image_id": ["img.a", "img_b"]}, "letters, digits"),
        ({"image_id": ["../img", "img_b"]}, "letters, digits"),
        ({"prompt": ["x", None]}, "'prompt' has 1 null"),
        ({"image_ext": ["png", "bmp"]}, "extension outside"),
        ({"image_ext": ["png", "PNG"]}, "extension outside"),
        ({"image_length": [10, 0]}, "length of 0"),
        ({"image_offset": [-1, 0]}, "negative offset"),
        ({"image_offset": ["0", "0"]}, "must be an integer"),
    ],
)
def test_prepare_rows_rejects_broken_rows(overrides, message):
    with pytest.raises(InvalidRowsError, match=message):
        prepare_rows(_rows(**overrides), COLUMNS, with_images=True)


def test_image_columns_are_needed_only_for_shards():
    table = pa.table({"image_id": ["img_a"], "prompt": ["p"]})
    assert prepare_rows(table, COLUMNS, with_images=False).num_rows == 1
    with pytest.raises(InvalidRowsError, match="no 'image_uri' column"):
        prepare_rows(table, COLUMNS, with_images=True)
    with pytest.raises(InvalidRowsError, match="no 'prompt' column"):
        prepare_rows(pa.table({"image_id": ["img_a"]}), COLUMNS, with_images=False)


def test_tar_bytes_are_deterministic_with_pinned_headers():
    members = [("img_a.png", b"\x89PNG data"), ("img_a.txt", "ミク".encode())]
    first, second = tar_bytes(members), tar_bytes(list(members))
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        infos = tar.getmembers()
        assert [i.name for i in infos] == ["img_a.png", "img_a.txt"]
        assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode, i.type) for i in infos} == {
            (0, 0, 0, "", "", 0o644, tarfile.REGTYPE)
        }
        assert tar.extractfile("img_a.txt").read().decode() == "ミク"


def test_json_values_are_plain_and_canonical():
    value = {
        "b": float("nan"),
        "a": dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "d": Decimal("1.10"),
        "e": b"\x00\x01",
        "m": [("k", 1)],
        "t": "初音",
    }
    assert json_value(value) == {
        "b": None,
        "a": "2020-01-02T03:04:05+00:00",
        "d": "1.10",
        "e": "AAE=",
        "m": [["k", 1]],
        "t": "初音",
    }
    text = row_json(value)
    assert text == row_json(dict(reversed(list(value.items()))))
    assert text.startswith(b'{"a":') and "初音".encode() in text
    with pytest.raises(TypeError):
        json_value(object())
    assert not math.isnan(json_value(1.5))


def test_manifest_json_is_indented_sorted_and_keeps_unicode():
    assert (
        manifest_bytes({"b": [1], "a": "初音"})
        == '{\n  "a": "初音",\n  "b": [\n    1\n  ]\n}\n'.encode()
    )


def test_parquet_parts_are_deterministic_and_split_by_rows():
    table = pa.table({"image_id": [f"img_{i:02d}" for i in range(10)]})
    parts = list(split_rows(table, 4))
    assert [p.num_rows for p in parts] == [4, 4, 2]
    assert parquet_bytes(parts[0]) == parquet_bytes(table.slice(0, 4).combine_chunks())
    assert list(split_rows(table.slice(0, 0), 4)) == []
    with pytest.raises(ValueError):
        list(split_rows(table, 0))


def test_names():
    assert version_name(1) == "v0001" and version_name(12345) == "v12345"
    assert parse_version("v0042") == 42 and parse_version("v42") is None
    assert parse_version("latest") is None
    for bad in ["", "Anime", "a/b", "../x", "a..b", "-x"]:
        assert not is_dataset_name(bad)
        with pytest.raises(ValueError):
            dataset_prefix(bad)
    assert is_dataset_name("anime_v2.1-demo")
    assert dataset_prefix("anime_v2.1-demo") == "exports/anime_v2.1-demo"


def _settings(**values) -> ExportSettings:
    return read_settings(ExportSettings, {"settings": json.dumps(values)})


def test_settings_from_the_meta_settings_json():
    read = _settings(
        export_dataset="anime",
        export_layouts=["kohya"],
        export_image_format="webp",
        export_image_quality=80,
        export_shard_size=500,
        export_kohya_repeats=10,
        export_rows_per_part=7,
    )
    assert read == ExportSettings("anime", ("kohya",), "webp", 80, 500, 10, 7)
    assert read.kohya_subfolder == "10_anime"
    defaults = _settings(export_dataset="anime")
    assert (defaults.layouts, defaults.image_format, defaults.image_quality) == (
        ("webdataset", "kohya"),
        "png",
        95,
    )
    assert (defaults.shard_size, defaults.rows_per_part) == (1000, 100_000)
    assert defaults.pipeline_vars == {}
    for bad in [
        {},
        {"export_dataset": "anime", "export_layouts": "webdataset"},
        {"export_dataset": "anime", "export_layouts": ["webdataset", "tfrecord"]},
        {"export_dataset": "anime", "export_layouts": ["kohya", "kohya"]},
        {"export_dataset": "anime", "export_image_format": "avif"},
        {"export_dataset": "anime", "export_image_quality": 0},
        {"export_dataset": "anime", "export_kohya_repeats": 0},
        {"export_dataset": "a", "export_shard_size": 0},
        {"export_dataset": "a", "export_rows_per_part": 0},
        {"export_dataset": "a", "export_abandoned_after_hours": 0},
        {"export_dataset": "Anime"},
        {"export_dataset": "a", "pipeline_vars": ["not", "a", "mapping"]},
    ]:
        with pytest.raises(SettingsError):
            _settings(**bad)


def test_settings_snapshot_keeps_the_pipeline_vars_nested():
    pipeline_vars = {"merge_seed": 0, "sources": ["a"], "prefilter": {"min_side": 256}}
    settings = _settings(export_dataset="anime", pipeline_vars=pipeline_vars)
    assert settings.snapshot() == {
        "dataset": "anime",
        "layouts": ["webdataset", "kohya"],
        "image_format": "png",
        "image_quality": 95,
        "shard_size": 1000,
        "kohya_repeats": 1,
        "rows_per_part": 100_000,
        "abandoned_after_hours": 24.0,
        "pipeline_vars": pipeline_vars,
    }


def test_writer_never_replaces_an_object_and_deletes_only_its_own(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    lake.put("exports/d/v0001/run.json", b"mine")
    lake.put("exports/d/v0001/shards/shard-00000.tar", b"theirs")
    writer = VersionWriter(lake, "d", 1, None)
    writer.put("metadata/part-00000.parquet", "metadata", 1, b"mine")
    with pytest.raises(VersionExistsError, match="already exists"):
        writer.put("shards/shard-00000.tar", "shard", 1, b"mine")
    writer.discard()
    folder = tmp_path / "lake" / "exports" / "d" / "v0001"
    assert (folder / "shards" / "shard-00000.tar").read_bytes() == b"theirs"
    assert not list((folder / "metadata").glob("*")) and not (folder / "run.json").exists()


def test_latest_never_moves_back(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    for number in (2, 3):
        lake.put(f"exports/d/{version_name(number)}/manifest.json", b"{}")
    assert read_latest(lake, "d") is None
    assert move_latest(lake, "d", 3) == []
    assert move_latest(lake, "d", 2) == []
    assert read_latest(lake, "d") == "v0003"


def test_a_retried_create_that_finds_its_own_bytes_succeeds(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    lake.put("a/manifest.json", b"ours", mode="create")
    assert (
        lake.put("a/manifest.json", b"ours", mode="create") == hashlib.sha256(b"ours").hexdigest()
    )
    with pytest.raises(FileExistsError):
        lake.put("a/manifest.json", b"theirs", mode="create")


def test_swap_writes_only_over_the_object_it_read(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    assert lake.swap("d/latest", b"1", None)
    first = lake.head("d/latest")
    assert not lake.swap("d/latest", b"2", None)
    assert lake.swap("d/latest", b"2", first)
    assert not lake.swap("d/latest", b"3", first)
    assert lake.get("d/latest") == b"2"
