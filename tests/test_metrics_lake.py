"""Metric files of the lake: discovery by file name, validation that names the file, reading
into the long form with Ibis, locally and on S3 (moto), and a dbt run that fails on a bad file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DbtProject, S3Endpoint
from dataproc.lake import Lake, S3Settings, httpfs_extension_path
from dataproc.metrics import MetricFile, MetricFileError, load_lake_metrics, parse_metric_path


def write_metric(lake: Path, relative: str, table: pa.Table) -> None:
    path = lake / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def rows(table: pa.Table) -> list[tuple]:
    return [(r["image_key"], r["metric"], r["value"]) for r in table.to_pylist()]


def test_file_name_tells_the_metric() -> None:
    assert parse_metric_path("metrics/danbooru/part-0.aesthetic.parquet") == MetricFile(
        "metrics/danbooru/part-0.aesthetic.parquet", "danbooru", "aesthetic"
    )
    assert parse_metric_path("metrics/pixiv/2024/run.v2.sharpness.parquet").metric == "sharpness"
    assert parse_metric_path("metrics/danbooru/_SUCCESS") is None
    assert parse_metric_path("raw/danbooru/a.aesthetic.parquet") is None
    with pytest.raises(MetricFileError, match="metrics/danbooru/scores.parquet"):
        parse_metric_path("metrics/danbooru/scores.parquet")
    with pytest.raises(MetricFileError, match="metrics/danbooru/a.Bad-Name.parquet"):
        parse_metric_path("metrics/danbooru/a.Bad-Name.parquet")


def test_any_metric_name_is_read_in_long_form(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    write_metric(
        lake,
        "metrics/danbooru/part-0.sharpness.parquet",
        pa.table({"key": ["1", "2", None], "sharpness": [0.5, float("nan"), 0.7]}),
    )
    # Integer keys are site keys too; an integer value column is numeric.
    write_metric(
        lake,
        "metrics/gelbooru/part-0.clip_score.parquet",
        pa.table({"key": pa.array([7], pa.int64()), "clip_score": pa.array([3], pa.int32())}),
    )
    write_metric(lake, "metrics/yandere/part-0.aesthetic.parquet", pa.table({"key": ["9"]}))
    table = load_lake_metrics(duckdb.connect(), Lake(str(lake)), ["danbooru", "gelbooru"])
    assert table.column_names == ["image_key", "source", "metric", "value", "uri"]
    # NULL keys and NaN values are left out; yandere is not enabled, so its bad file is unread.
    assert rows(table) == [("danbooru:1", "sharpness", 0.5), ("gelbooru:7", "clip_score", 3.0)]


def test_duplicate_values_last_file_and_row_win(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = pa.table({"key": ["1", "2", "2"], "aesthetic": [1.0, 2.0, 3.0]})
    write_metric(lake, "metrics/danbooru/part-0.aesthetic.parquet", first)
    second = pa.table({"key": ["1"], "aesthetic": [9.0]})
    write_metric(lake, "metrics/danbooru/part-1.aesthetic.parquet", second)
    con = duckdb.connect()
    table = load_lake_metrics(con, Lake(str(lake)), None)
    assert rows(table) == [("danbooru:1", "aesthetic", 9.0), ("danbooru:2", "aesthetic", 3.0)]
    # The files were registered as temporary views on the session; none is left behind.
    assert con.sql("select count(*) from duckdb_views() where not internal").fetchone() == (0,)


def test_no_metric_files_give_an_empty_table(tmp_path: Path) -> None:
    table = load_lake_metrics(duckdb.connect(), Lake(str(tmp_path / "lake")), ["danbooru"])
    assert table.num_rows == 0
    assert table.schema.field("value").type == pa.float64()


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"id": ["1"], "aesthetic": [1.0]}, "no `key` column"),
        ({"key": [1.5], "aesthetic": [1.0]}, "`key` is float64"),
        ({"key": ["1"], "score": [1.0]}, "no `aesthetic` column"),
        ({"key": ["1"], "aesthetic": ["high"]}, "`aesthetic` is string, not a number"),
        ({"key": ["1"], "aesthetic": [True]}, "`aesthetic` is boolean, not a number"),
    ],
)
def test_bad_files_fail_naming_the_file(tmp_path: Path, columns: dict, message: str) -> None:
    lake = tmp_path / "lake"
    write_metric(
        lake,
        "metrics/danbooru/good.aesthetic.parquet",
        pa.table({"key": ["2"], "aesthetic": [2.0]}),
    )
    write_metric(lake, "metrics/danbooru/bad.aesthetic.parquet", pa.table(columns))
    with pytest.raises(MetricFileError) as failure:
        load_lake_metrics(duckdb.connect(), Lake(str(lake)), ["danbooru"])
    assert "metrics/danbooru/bad.aesthetic.parquet" in str(failure.value)
    assert message in str(failure.value)


def test_s3_lake_reads_like_local(
    s3_endpoint: S3Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = tmp_path / "lake"
    write_metric(
        lake,
        "metrics/pixiv/part-0.aesthetic.parquet",
        pa.table({"key": ["5_p0", "5_p1"], "aesthetic": [4.0, 6.0]}),
    )
    s3_endpoint.upload_dir(lake, "metrics-lake")
    for name, value in s3_endpoint.env.items():
        monkeypatch.setenv(name, value)
    con = duckdb.connect()
    con.install_extension(str(httpfs_extension_path()))
    con.load_extension("httpfs")
    con.execute(S3Settings.from_env().duckdb_secret_sql())
    s3 = Lake(f"s3://{s3_endpoint.bucket}/metrics-lake")
    table = load_lake_metrics(con, s3, ["pixiv"])
    assert rows(table) == rows(load_lake_metrics(duckdb.connect(), Lake(str(lake)), ["pixiv"]))
    assert rows(table) == [("pixiv:5_p0", "aesthetic", 4.0), ("pixiv:5_p1", "aesthetic", 6.0)]


def test_dbt_fails_naming_every_bad_file(tmp_path: Path, dbt_project) -> None:
    lake = tmp_path / "lake"
    bad_files = {
        "metrics/danbooru/part-3.watermark.parquet": (
            pa.table({"post": ["1"], "watermark": [0.1]}),
            "no `key` column",
        ),
        "metrics/gelbooru/part-4.watermark.parquet": (
            pa.table({"key": ["1"], "watermark": ["none"]}),
            "`watermark` is string, not a number",
        ),
    }
    for path, (table, _) in bad_files.items():
        write_metric(lake, path, table)
    project: DbtProject = dbt_project(lake)
    result = project.run("run", "--select", "int_lake_metrics", check=False)
    assert not result.ok
    for path, (_, message) in bad_files.items():
        assert f"metric file {path}: {message}" in result.output
