"""The metrics mart and the training filter, on the shared `dbt build` of the test lake: it holds
an extra, unregistered metric (`sharpness`, danbooru only, one key in two files) and a
registered metric missing for one source (yandere has no `watermark`); see conftest."""

from __future__ import annotations

from conftest import DbtProject


def test_every_image_has_one_metrics_row(demo_build: DbtProject) -> None:
    assert demo_build.query("select count(*) from marts.metrics") == demo_build.query(
        "select count(*) from marts.images"
    )
    missing = demo_build.query(
        "select count(*) from marts.images"
        " where image_id not in (select image_id from marts.metrics)"
    )
    assert missing == [(0,)]


def test_new_metric_name_gets_a_column(demo_build: DbtProject) -> None:
    definition = demo_build.query(
        "select column_name, aggregation, threshold, is_registered"
        " from intermediate.int_metric_definitions where metric = 'sharpness'"
    )
    assert definition == [("sharpness", "mean", None, False)]
    values = dict(
        demo_build.query(
            "select image_key, value from intermediate.int_metric_values where metric = 'sharpness'"
        )
    )
    # The later file's value wins for a key that two files measure.
    assert sorted(values.values()) == [0.5, 0.75, 0.9]
    assert all(key.startswith("danbooru:") for key in values)
    measured = demo_build.query("select count(*) from marts.metrics where sharpness is not null")[
        0
    ][0]
    assert 1 <= measured <= 3


def test_missing_metric_is_null_not_dropped(demo_build: DbtProject) -> None:
    # Images whose only members are on yandere have no watermark value, and still a row.
    yandere_only = demo_build.query(
        "select metrics.watermark, metrics.width"
        " from marts.metrics inner join marts.images using (image_id)"
        " where images.sources = ['yandere']"
    )
    assert yandere_only
    assert all(watermark is None for watermark, _ in yandere_only)
    assert all(width is not None for _, width in yandere_only)
    # Pipeline metrics describe the best file.
    mismatched = demo_build.query(
        "select count(*) from marts.metrics inner join marts.images using (image_id)"
        " where metrics.width is distinct from images.best_width"
        " or metrics.height is distinct from images.best_height"
    )
    assert mismatched == [(0,)]


def test_training_filter_rejects_every_member_of_a_dropped_image(demo_build: DbtProject) -> None:
    rejected = demo_build.query(
        "select distinct image_id from intermediate.int_training_filter_rejections"
    )
    assert rejected, "the demo lake should have images below the registry thresholds"
    members_not_rejected = demo_build.query(
        "select count(*) from intermediate.int_image_members"
        " where image_id in (select image_id from intermediate.int_training_filter_rejections)"
        " and image_key not in ("
        "   select image_key from marts.rejections where stage = 'training_filter')"
    )
    assert members_not_rejected == [(0,)]
    reasons = {
        reason
        for (reason,) in demo_build.query(
            "select distinct reason from marts.rejections where stage = 'training_filter'"
        )
    }
    assert reasons <= {"aesthetic_below_threshold", "watermark_above_threshold"}
    overlap = demo_build.query(
        "select count(*) from intermediate.int_training_candidates"
        " where image_id in (select image_id from intermediate.int_training_filter_rejections)"
    )
    assert overlap == [(0,)]
    total = demo_build.query(
        "select (select count(*) from intermediate.int_training_candidates)"
        " + (select count(distinct image_id)"
        "    from intermediate.int_training_filter_rejections)"
        " - (select count(*) from marts.images)"
    )
    assert total == [(0,)]


def test_null_metric_passes_the_filter(demo_build: DbtProject) -> None:
    unmeasured = demo_build.query(
        "select count(*) from marts.metrics"
        " where aesthetic is null and watermark is null"
        " and image_id not in (select image_id from intermediate.int_training_candidates)"
    )
    assert unmeasured == [(0,)]
