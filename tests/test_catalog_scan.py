"""The image catalog of a local lake: exact catalog and reject rows, bytes read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataproc.catalog import CATALOG_SCHEMA, ENTRIES_SCHEMA, REJECTS_SCHEMA, scan_lake
from dataproc.lake import Lake
from test_catalog_lakes import MixedLake, noise_image, read_back, tar_with, write


@pytest.fixture
def lake(tmp_path: Path) -> MixedLake:
    return MixedLake(tmp_path / "lake")


def assert_rows_point_at_images(root: Path, catalog_rows: list[dict], images: dict) -> None:
    lake = Lake(str(root))
    for row in catalog_rows:
        data = read_back(lake, row["uri"], row["offset"], row["length"])
        assert data == images[row["image_key"]], row["image_key"]


def test_mixed_lake_exact_rows(lake: MixedLake):
    result = scan_lake(Lake(str(lake.root)))
    assert result.catalog.schema == CATALOG_SCHEMA
    assert result.rejects.schema == REJECTS_SCHEMA
    assert result.catalog.to_pylist() == lake.catalog
    assert result.rejects.to_pylist() == lake.rejects
    assert_rows_point_at_images(lake.root, result.catalog.to_pylist(), lake.images)


def test_entries_are_the_catalog_then_the_rejects(lake: MixedLake):
    result = scan_lake(Lake(str(lake.root)))
    assert result.entries.schema == ENTRIES_SCHEMA
    entries = result.entries.to_pylist()
    images, refused = entries[: len(lake.catalog)], entries[len(lake.catalog) :]
    image_columns = ("image_key", "source", "key", "uri", "offset", "length", "ext")
    reject_columns = ("image_key", "source", "uri", "member", "reason", "detail")
    assert [[row[c] for c in image_columns] for row in images] == [
        [row[c] for c in image_columns] for row in lake.catalog
    ]
    assert [[row[c] for c in reject_columns] for row in refused] == [
        [row[c] for c in reject_columns] for row in lake.rejects
    ]
    assert all(row["is_catalogued"] and row["reason"] is None for row in images)
    assert not any(row["is_catalogued"] or row["offset"] is not None for row in refused)


def test_shard_indexing_reads_a_fraction_of_each_shard(lake: MixedLake):
    result = scan_lake(Lake(str(lake.root)))
    stats = {shard.uri: shard for shard in result.shards}
    assert set(stats) == {
        "shards/danbooru/000.tar",
        "shards/danbooru/001.tar",
        "shards/pixiv/000.tar",
        "shards/pixiv/001.tar",
        "shards/pixiv/empty.tar",
    }
    for uri in ("shards/danbooru/000.tar", "shards/pixiv/000.tar"):
        shard = stats[uri]
        assert shard.size == (lake.root / uri).stat().st_size
        assert 0 < shard.bytes_read * 3 < shard.size, shard


def test_source_filter(lake: MixedLake):
    result = scan_lake(Lake(str(lake.root)), ["pixiv", "zerochan"])
    assert result.catalog.to_pylist() == [r for r in lake.catalog if r["source"] == "pixiv"]
    assert result.rejects.to_pylist() == [r for r in lake.rejects if r["source"] == "pixiv"]
    nothing = scan_lake(Lake(str(lake.root)), [])
    assert nothing.catalog.num_rows == 0
    assert nothing.rejects.num_rows == 0


def test_output_does_not_depend_on_concurrency_or_read_ahead(lake: MixedLake):
    serial = scan_lake(Lake(str(lake.root)), workers=1, read_ahead=512)
    parallel = scan_lake(Lake(str(lake.root)), workers=8, read_ahead=1 << 16)
    assert serial.catalog.equals(parallel.catalog)
    assert serial.rejects.equals(parallel.rejects)


def test_files_only_lake(tmp_path: Path):
    images = {
        "yandere:10": noise_image(10),
        "yandere:11": noise_image(11, "JPEG"),
        "pixiv:42_p0": noise_image(42, "WEBP"),
    }
    write(tmp_path, "images/yandere/a/b/10.png", images["yandere:10"])
    write(tmp_path, "images/yandere/11.jpeg", images["yandere:11"])
    write(tmp_path, "images/pixiv/42_p0.Webp", images["pixiv:42_p0"])
    write(tmp_path, "images/pixiv/42_p0.txt", b"caption")
    result = scan_lake(Lake(str(tmp_path)))
    assert result.catalog.to_pylist() == [
        {
            "image_key": "pixiv:42_p0",
            "source": "pixiv",
            "key": "42_p0",
            "uri": "images/pixiv/42_p0.Webp",
            "offset": 0,
            "length": len(images["pixiv:42_p0"]),
            "ext": "webp",
            "bytes": len(images["pixiv:42_p0"]),
        },
        {
            "image_key": "yandere:11",
            "source": "yandere",
            "key": "11",
            "uri": "images/yandere/11.jpeg",
            "offset": 0,
            "length": len(images["yandere:11"]),
            "ext": "jpeg",
            "bytes": len(images["yandere:11"]),
        },
        {
            "image_key": "yandere:10",
            "source": "yandere",
            "key": "10",
            "uri": "images/yandere/a/b/10.png",
            "offset": 0,
            "length": len(images["yandere:10"]),
            "ext": "png",
            "bytes": len(images["yandere:10"]),
        },
    ]
    assert result.rejects.num_rows == 0
    assert result.shards == ()
    assert_rows_point_at_images(tmp_path, result.catalog.to_pylist(), images)


def test_shards_only_lake_with_two_extensions_of_one_key(tmp_path: Path):
    png, jpg = noise_image(1), noise_image(1, "JPEG")
    shard = tar_with([("1.png", png), ("1.jpg", jpg), ("1.json", b"{}")])
    write(tmp_path, "shards/konachan/a.tar", shard)
    result = scan_lake(Lake(str(tmp_path)))
    (row,) = result.catalog.to_pylist()
    assert (row["image_key"], row["uri"], row["offset"], row["ext"]) == (
        "konachan:1",
        "shards/konachan/a.tar",
        512,
        "png",
    )
    assert_rows_point_at_images(tmp_path, [row], {"konachan:1": png})
    assert result.rejects.to_pylist() == [
        {
            "image_key": "konachan:1",
            "source": "konachan",
            "uri": "shards/konachan/a.tar",
            "member": "1.jpg",
            "stage": "catalog",
            "reason": "duplicate_key",
            "detail": "kept shards/konachan/a.tar at offset 512",
        }
    ]


def test_empty_lake(tmp_path: Path):
    result = scan_lake(Lake(str(tmp_path / "nothing")))
    assert result.catalog.num_rows == 0
    assert result.catalog.schema == CATALOG_SCHEMA
    assert result.rejects.num_rows == 0
