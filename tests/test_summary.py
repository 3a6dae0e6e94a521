"""`dataproc summary`: the headline first (images, version, where, published or unchanged),
aligned facts, then the queries to paste; no dump of every table. And the one progress helper."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from conftest import DbtProject
from dataproc.progress import progress, progress_enabled
from dataproc.summary import describe_build


def test_the_summary_opens_with_the_headline(demo_build: DbtProject) -> None:
    text = describe_build(demo_build.lake, demo_build.database)
    lines = text.splitlines()
    rows = demo_build.query("select count(*) from exports.export_rows")[0][0]
    assert lines[0] == f"{rows} images in anime v0001, published."
    version = f"{demo_build.lake}/exports/anime/v0001"
    facts = dict(line.split(maxsplit=1) for line in lines[2:8])
    assert facts["version"] == f"{version}/"
    assert facts["manifest"] == f"{version}/manifest.json"
    assert facts["report"] == f"{version}/report.html"
    assert facts["tables"].startswith("staging ")
    # The values start in one column.
    assert len({line.index(line.split()[1]) for line in lines[2:8]}) == 1
    # Queries follow; tables are counted per layer, not listed one by one.
    assert "Queries to paste:" in text
    assert "marts.images" not in text and "stg_pixiv__posts" not in text


def test_an_unchanged_build_says_so(tmp_path: Path) -> None:
    database = tmp_path / "built.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema exports")
        con.execute(
            "create table exports.export_dataset as select 'anime' as dataset, "
            "'unchanged' as status, 'v0003' as version, 42::bigint as rows, "
            "'s3://bucket/lake/exports/anime/v0003/manifest.json' as manifest_path"
        )
    lines = describe_build("s3://bucket/lake", database).splitlines()
    assert lines[0].startswith("42 images in anime v0003, unchanged")
    assert "  version   s3://bucket/lake/exports/anime/v0003/" in lines


@pytest.mark.parametrize(
    ("setting", "tty", "shown"),
    [(None, False, False), (None, True, True), ("0", True, False), ("1", False, True)],
)
def test_progress_is_shown_on_a_terminal_unless_turned_off(
    setting: str | None, tty: bool, shown: bool
) -> None:
    stream = io.StringIO()
    stream.isatty = lambda: tty  # type: ignore[method-assign]
    env = {} if setting is None else {"DATAPROC_PROGRESS": setting}
    assert progress_enabled(env, stream) is shown


def test_progress_yields_every_item_and_draws_the_rate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATAPROC_PROGRESS", "1")
    assert list(progress(iter(range(5)), total=5, desc="shards", unit="shard")) == list(range(5))
    drawn = capsys.readouterr().err
    assert "shards" in drawn and "5/5" in drawn and "shard/s" in drawn
    monkeypatch.setenv("DATAPROC_PROGRESS", "0")
    assert list(progress(range(3), total=3, desc="quiet")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_export_metrics_and_identity_show_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataproc.export import ExportSettings, publish
    from dataproc.identity.graph import build_graph, component_labels, split_oversized
    from dataproc.lake import Lake
    from dataproc.metrics import load_lake_metrics
    from identity_tables import edges_table, nodes_table
    from test_export_lakes import write_export_lake
    from test_metrics_lake import write_metric

    monkeypatch.setenv("DATAPROC_PROGRESS", "1")
    lake = Lake(str(tmp_path / "lake"))
    rows = write_export_lake(lake).rows
    publish(
        rows,
        lake,
        ExportSettings(dataset="anime", shard_size=3),
        invocation_id=None,
        git_commit=None,
    )
    write_metric(
        tmp_path / "lake",
        "metrics/danbooru/part-0.sharpness.parquet",
        pa.table({"key": ["1"], "sharpness": [0.5]}),
    )
    load_lake_metrics(duckdb.connect(), lake, ["danbooru"])
    keys = ["d:1", "g:1", "d:2"]
    graph = build_graph(
        nodes_table(keys),
        edges_table([("d:1", "g:1", "md5", 1.0), ("g:1", "d:2", "embedding", 0.91)]),
    )
    labels = component_labels(graph.num_nodes, graph.left, graph.right)
    split_oversized(graph, labels, max_cluster_size=2, split_threshold=0.95)
    drawn = capsys.readouterr().err
    for bar in ("export shards", "shard/s", "metric files checked", "identity splits"):
        assert bar in drawn, bar
