"""The metrics mart and the training filter on a demo lake with an extra, unregistered metric
and a registered metric missing for one source: one build, several checks."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import DbtProject, make_dbt_project
from dataproc.demo import generate_lake


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    lake = tmp_path_factory.mktemp("metrics") / "lake"
    generate_lake(str(lake), posts=20, seed=5, images=True)
    # A metric nobody registered, for three measured danbooru keys (one twice, in two parts).
    extra = lake / "metrics" / "danbooru"
    keys = sorted(pq.read_table(next(extra.glob("*.aesthetic.parquet")))["key"].to_pylist())[:3]
    first = pa.table({"key": keys, "sharpness": [0.25, 0.5, 0.75]})
    pq.write_table(first, extra / "run-a.sharpness.parquet")
    second = pa.table({"key": keys[:1], "sharpness": [0.9]})
    pq.write_table(second, extra / "run-b.sharpness.parquet")
    # yandere has no watermark values at all.
    for path in (lake / "metrics" / "yandere").glob("*.watermark.parquet"):
        path.unlink()
    project = make_dbt_project(tmp_path_factory.mktemp("metrics_build"), lake)
    project.run(
        "build",
        "--select",
        "+metrics +rejections +int_training_candidates",
        "--exclude-resource-type",
        "test",
        "unit_test",
    )
    return project


def test_every_image_has_one_metrics_row(build: DbtProject) -> None:
    assert build.query("select count(*) from marts.metrics") == build.query(
        "select count(*) from marts.images"
    )
    missing = build.query(
        "select count(*) from marts.images"
        " where image_id not in (select image_id from marts.metrics)"
    )
    assert missing == [(0,)]


def test_new_metric_name_gets_a_column(build: DbtProject) -> None:
    definition = build.query(
        "select column_name, aggregation, threshold, is_registered"
        " from intermediate.int_metric_definitions where metric = 'sharpness'"
    )
    assert definition == [("sharpness", "mean", None, False)]
    values = dict(
        build.query(
            "select image_key, value from intermediate.int_metric_values where metric = 'sharpness'"
        )
    )
    # The later file's value wins for a key that two files measure.
    assert sorted(values.values()) == [0.5, 0.75, 0.9]
    assert all(key.startswith("danbooru:") for key in values)
    measured = build.query("select count(*) from marts.metrics where sharpness is not null")[0][0]
    assert 1 <= measured <= 3


def test_missing_metric_is_null_not_dropped(build: DbtProject) -> None:
    # Images whose only members are on yandere have no watermark value, and still a row.
    yandere_only = build.query(
        "select metrics.watermark, metrics.width"
        " from marts.metrics inner join marts.images using (image_id)"
        " where images.sources = ['yandere']"
    )
    assert yandere_only
    assert all(watermark is None for watermark, _ in yandere_only)
    assert all(width is not None for _, width in yandere_only)
    # Pipeline metrics describe the best file.
    mismatched = build.query(
        "select count(*) from marts.metrics inner join marts.images using (image_id)"
        " where metrics.width is distinct from images.best_width"
        " or metrics.height is distinct from images.best_height"
    )
    assert mismatched == [(0,)]


def test_training_filter_rejects_every_member_of_a_dropped_image(build: DbtProject) -> None:
    rejected = build.query(
        "select distinct image_id from intermediate.int_training_filter_rejections"
    )
    assert rejected, "the demo lake should have images below the registry thresholds"
    members_not_rejected = build.query(
        "select count(*) from intermediate.int_image_members"
        " where image_id in (select image_id from intermediate.int_training_filter_rejections)"
        " and image_key not in ("
        "   select image_key from marts.rejections where stage = 'training_filter')"
    )
    assert members_not_rejected == [(0,)]
    reasons = {
        reason
        for (reason,) in build.query(
            "select distinct reason from marts.rejections where stage = 'training_filter'"
        )
    }
    assert reasons <= {"aesthetic_below_threshold", "watermark_above_threshold"}
    overlap = build.query(
        "select count(*) from intermediate.int_training_candidates"
        " where image_id in (select image_id from intermediate.int_training_filter_rejections)"
    )
    assert overlap == [(0,)]
    total = build.query(
        "select (select count(*) from intermediate.int_training_candidates)"
        " + (select count(distinct image_id)"
        "    from intermediate.int_training_filter_rejections)"
        " - (select count(*) from marts.images)"
    )
    assert total == [(0,)]


def test_null_metric_passes_the_filter(build: DbtProject) -> None:
    unmeasured = build.query(
        "select count(*) from marts.metrics"
        " where aesthetic is null and watermark is null"
        " and image_id not in (select image_id from intermediate.int_training_candidates)"
    )
    assert unmeasured == [(0,)]
