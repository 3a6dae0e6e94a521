"""An image's facts come from its bytes: one small build of a tampered demo lake.

Two danbooru posts lie about their files: one says 680x453 for a 1x1 PNG, one says 2000x3000
and `jpg` for PNG bytes named `.jpg`. The build must reject the first as `too_small` (it reaches
neither identity nor the merge) and export the second as a png with its decoded size, while the
metadata's values stay in the images mart's `danbooru__` columns.
"""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pytest
from conftest import DbtProject, make_dbt_project
from dataproc.demo import generate_lake
from PIL import Image

TINY_KEY = "danbooru:1000002"
RENAMED_KEY = "danbooru:1000012"


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def tamper(lake: Path) -> tuple[int, int]:
    """Make the two lying posts; returns the true size of the renamed image."""
    (tiny,) = lake.glob("images/danbooru/*/1000002.png")
    tiny.write_bytes(png_bytes(Image.new("RGB", (1, 1), "red")))
    (renamed,) = lake.glob("images/danbooru/*/1000012.jpg")
    with Image.open(renamed) as original:
        size = original.size
        renamed.write_bytes(png_bytes(original.convert("RGB")))
    raw = lake / "raw" / "danbooru" / "part-00000.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select * replace (
                    case id when 1000002 then 680 when 1000012 then 2000
                        else image_width end as image_width,
                    case id when 1000002 then 453 when 1000012 then 3000
                        else image_height end as image_height
                )
                from read_parquet('{raw}')
            ) to '{raw}.new' (format parquet)
            """
        )
    Path(f"{raw}.new").replace(raw)
    return size


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> tuple[DbtProject, tuple[int, int]]:
    work = tmp_path_factory.mktemp("image_facts")
    generate_lake(str(work / "lake"), posts=8, seed=3, images=True)
    size = tamper(work / "lake")
    project = make_dbt_project(work / "dbt", work / "lake")
    project.run(
        "build",
        "--select",
        "+export_rows +int_image_embedding_rejections",
        "--resource-type",
        "model",
        "--resource-type",
        "seed",
        "--vars",
        "{enabled_sources: [danbooru]}",
    )
    return project, size


def test_a_tiny_image_that_claims_a_large_size_is_rejected_as_too_small(build) -> None:
    project, _ = build
    assert project.query(
        "select stage, reason, detail from intermediate.int_image_embedding_rejections"
        f" where image_key = '{TINY_KEY}'"
    ) == [("embed", "too_small", "decoded 1x1, shorter side below min_side 256")]
    assert project.query(
        f"select width, height, file_format from intermediate.int_image_files"
        f" where image_key = '{TINY_KEY}'"
    ) == [(1, 1, "png")]
    for table in ("intermediate.int_identity_nodes", "intermediate.int_image_members"):
        assert project.query(f"select * from {table} where image_key = '{TINY_KEY}'") == []


def test_png_bytes_named_jpg_ship_as_png_with_their_decoded_size(build) -> None:
    project, (width, height) = build
    (image_id,) = project.query(
        f"select image_id from intermediate.int_image_members where image_key = '{RENAMED_KEY}'"
    )[0]
    assert project.query(
        "select best_image_key, best_width, best_height, image_ext"
        f" from exports.export_rows where image_id = '{image_id}'"
    ) == [(RENAMED_KEY, width, height, "png")]
    metrics = project.query(
        "select metric, coalesce(value::varchar, value_text)"
        " from intermediate.int_image_file_metrics"
        f" where image_key = '{RENAMED_KEY}' and metric in ('width', 'height', 'format')"
        " order by metric"
    )
    assert metrics == [
        ("format", "png"),
        ("height", f"{float(height)}"),
        ("width", f"{float(width)}"),
    ]
    # the metadata's values stay in the source's own columns
    assert project.query(
        "select danbooru__width, danbooru__height, danbooru__file_ext"
        f" from marts.images where image_id = '{image_id}'"
    ) == [(2000, 3000, "jpg")]
