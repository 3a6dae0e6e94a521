"""Metadata-only mode: no images, vectorized, fast at tens of thousands of posts."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dataproc.demo import generate_lake

POSTS = 20_000


def test_metadata_only_lake_is_fast_and_complete(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    started = time.perf_counter()
    report = generate_lake(str(lake), posts=POSTS, seed=5, images=False)
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"{POSTS} posts per source took {elapsed:.1f} s"
    assert not (lake / "images").exists() and not (lake / "shards").exists()
    assert report.rows == dict.fromkeys(report.rows, POSTS) and len(report.rows) == 5
    assert "metadata only" in report.describe()

    danbooru = pq.read_table(lake / "raw/danbooru/part-00000.parquet")
    gelbooru = pq.read_table(lake / "raw/gelbooru/part-00000.parquet")
    assert danbooru.num_rows == POSTS
    assert pc.all(pc.match_substring_regex(danbooru.column("md5"), "^[0-9a-f]{32}$")).as_py()
    shared = pc.is_in(gelbooru.column("md5"), value_set=danbooru.column("md5"))
    assert 0.35 <= pc.mean(shared.cast(pa.int8())).as_py() <= 0.45
    has_pixiv_id = pc.mean(danbooru.column("pixiv_id").is_valid().cast(pa.int8())).as_py()
    assert 0.34 <= has_pixiv_id <= 0.40

    truth = pq.read_table(lake / "ground_truth/pictures.parquet")
    assert truth.num_rows == report.pictures > 5 * POSTS
    assert pq.read_table(lake / "ground_truth/hostile.parquet").num_rows == 0
    aesthetic = pa.concat_tables(
        pq.read_table(p) for p in lake.glob("metrics/*/*.aesthetic.parquet")
    )
    assert 0.85 * truth.num_rows <= aesthetic.num_rows <= 0.95 * truth.num_rows


def test_large_sources_are_split_into_parts(tmp_path: Path, monkeypatch) -> None:
    import dataproc.demo as demo

    monkeypatch.setattr(demo, "PART_ROWS", 400)
    generate_lake(str(tmp_path), posts=1000, seed=2, images=False)
    parts = sorted((tmp_path / "raw/zerochan").glob("part-*.parquet"))
    assert [p.name for p in parts] == [f"part-0000{i}.parquet" for i in range(3)]
    counts = [pq.read_metadata(p).num_rows for p in parts]
    assert counts == [400, 400, 200]
    ids = pa.concat_tables(pq.read_table(p) for p in parts).column("id").to_pylist()
    assert ids == sorted(ids)
