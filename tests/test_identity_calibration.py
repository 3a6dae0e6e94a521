"""Threshold calibration on constructed score distributions (no lake involved)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from dataproc.config import SettingsError, read_settings
from dataproc.identity.calibration import (
    CALIBRATION_SCHEMA,
    SCORE_RESOLUTION,
    CalibrationSettings,
    Labels,
    calibrate,
    lowest_threshold,
)


def pairs(
    positives: list[float],
    negatives: list[float],
    split: str = "fit",
    cannot_links: list[float] = (),
) -> pa.Table:
    scores = [*positives, *negatives, *cannot_links]
    positive = [True] * len(positives) + [False] * (len(negatives) + len(cannot_links))
    return pa.table(
        {
            "is_same_picture": positive,
            "is_cannot_link": [False] * (len(positives) + len(negatives))
            + [True] * len(cannot_links),
            "score": pa.array(scores, pa.float32()),
            "split": [split] * len(scores),
        }
    )


def both_splits(positives: list[float], negatives: list[float]) -> pa.Table:
    return pa.concat_tables(
        [pairs(positives, negatives, "fit"), pairs(positives, negatives, "holdout")]
    )


def labels(positives: list[float], negatives: list[float]) -> Labels:
    return Labels.of(pairs(positives, negatives), "fit")


def test_lowest_threshold_is_the_lowest_positive_score_reaching_the_target() -> None:
    # Positives 0.91..1.00; one hard negative at 0.95. 1000 pairs at or above 0.95.
    rng = np.random.default_rng(0)
    hard_positives = list(rng.uniform(0.90, 0.95, 50))
    easy_positives = [0.96 + i * 0.04 / 999 for i in range(999)]
    negatives = [0.95, *rng.uniform(-0.2, 0.6, 500)]
    chosen = lowest_threshold(labels(hard_positives + easy_positives, negatives), 0.999)
    # With the negative counted, precision 999/1000 still reaches 0.999 at the lowest easy
    # positive, and every hard positive below 0.95 would add 1 to the 1 false: 0.999 fails
    # at none of them either, so the lowest positive overall is chosen, less half the gap to
    # the highest random negative.
    easy_negative = max(negatives[1:])
    assert chosen == pytest.approx(easy_negative, abs=1e-5)
    # A stricter target cannot include the negative: just above it.
    assert lowest_threshold(labels(hard_positives + easy_positives, negatives), 1.0) == (
        pytest.approx(0.95, abs=1e-5)
    )


def test_threshold_is_just_above_the_negative_below_the_lowest_reaching_positive() -> None:
    # Every cut in (0.95, 0.99] keeps precision 1: the positives' minimum is only a sample's
    # minimum, so auto takes the bottom of the gap, not its top edge.
    chosen = lowest_threshold(labels([0.99] * 10 + [0.995] * 10, [0.95, 0.1]), 1.0)
    assert chosen == pytest.approx(np.float32(0.95) + SCORE_RESOLUTION, abs=1e-9)
    # No pair below the lowest reaching positive: that positive's score.
    assert lowest_threshold(labels([0.99, 0.995], []), 1.0) == pytest.approx(0.99)


def test_precision_counts_ties_together_and_needs_a_positive() -> None:
    # A positive and a negative at the same score cannot be split by any threshold.
    assert lowest_threshold(labels([0.99, 0.97], [0.97]), 1.0) == pytest.approx(0.97, abs=1e-5)
    assert lowest_threshold(labels([0.97], [0.97, 0.99]), 0.5) is None


def test_auto_chooses_on_fit_and_estimates_on_holdout() -> None:
    fit = pairs([0.95] * 50 + [0.99] * 50, [0.5] * 30 + [0.97], "fit")
    holdout = pairs([0.99] * 40 + [0.96] * 10, [0.2] * 30 + [0.995], "holdout")
    settings = CalibrationSettings(near_dup_target_precision=0.995)
    result = calibrate(pa.concat_tables([fit, holdout]), settings)
    # At 0.95 the fit negative at 0.97 makes precision 100/101 < 0.995; at 0.99 it is 1, and
    # so it is down to just above the negative.
    assert (result.threshold_mode, result.threshold) == ("auto", pytest.approx(0.97, abs=1e-5))
    assert (result.positive_pairs, result.negative_pairs) == (150, 62)
    assert result.estimated_precision == pytest.approx(40 / 41)
    assert result.estimated_recall == pytest.approx(40 / 50)
    assert result.table().schema == CALIBRATION_SCHEMA


def test_cannot_link_pairs_are_left_to_refusal_and_reported_apart() -> None:
    # Cannot-link negatives score as high as the positives (a variant and its parent), but
    # refusal keeps every such pair apart: they must not hold auto back, nor count as negatives.
    cannot_links = [1.0] * 5 + [0.997] * 5 + [0.5] * 5
    table = pa.concat_tables(
        [
            pairs([0.99] * 30 + [0.999] * 30, [0.97] + [0.1] * 30, split, cannot_links)
            for split in ("fit", "holdout")
        ]
    )
    result = calibrate(table, CalibrationSettings())
    assert (result.threshold_mode, result.threshold) == ("auto", pytest.approx(0.97, abs=1e-5))
    assert (result.positive_pairs, result.negative_pairs) == (120, 62)
    assert (result.estimated_precision, result.estimated_recall) == (1.0, 1.0)
    assert (result.cannot_link_pairs, result.cannot_link_above_threshold) == (30, 20)


def test_fixed_threshold_is_kept_and_measured() -> None:
    table = both_splits([0.99, 0.98, 0.9], [0.95])
    result = calibrate(table, CalibrationSettings(near_dup_threshold=0.97, near_dup_min_labels=1))
    assert (result.threshold_mode, result.threshold) == ("fixed", 0.97)
    assert (result.estimated_precision, result.estimated_recall) == (1.0, pytest.approx(2 / 3))


def test_too_few_labels_fall_back_with_a_warning() -> None:
    table = both_splits([0.99] * 5, [0.1] * 40)
    settings = CalibrationSettings(near_dup_min_labels=20, near_dup_fallback_threshold=0.985)
    with pytest.warns(UserWarning, match="too few labelled pairs"):
        result = calibrate(table, settings)
    assert (result.threshold_mode, result.threshold) == ("fallback", 0.985)
    assert "near_dup_min_labels is 20" in result.detail


def test_unreachable_target_falls_back_and_low_choice_is_raised_to_the_floor() -> None:
    table = both_splits([0.9] * 30, [0.99] * 30)
    with pytest.warns(UserWarning, match="no threshold reaches"):
        assert calibrate(table, CalibrationSettings()).threshold_mode == "fallback"
    low = calibrate(
        both_splits([0.8] * 30, [0.1] * 30 + [0.95]),
        CalibrationSettings(near_dup_target_precision=0.9),
    )
    assert (low.threshold_mode, low.threshold) == ("auto", 0.9)
    assert "raised to near_dup_candidate_floor" in low.detail


def test_auto_needs_a_fit_negative_among_the_candidates() -> None:
    # Copies score 0.99, every negative far below the candidate floor: any cut down to the
    # floor looks perfect, so the labels cannot place the threshold.
    table = both_splits([0.99] * 30, [0.1] * 30)
    with pytest.warns(UserWarning, match="no fit negative scores at or above"):
        result = calibrate(table, CalibrationSettings())
    assert (result.threshold_mode, result.threshold) == ("fallback", 0.985)


def test_settings_accept_auto_or_a_cosine() -> None:
    meta = {"settings": json.dumps({"near_dup_threshold": "auto"})}
    assert read_settings(CalibrationSettings, meta).near_dup_threshold == "auto"
    for bad in ("high", 1.5):
        with pytest.raises(SettingsError, match="near_dup_threshold"):
            read_settings(
                CalibrationSettings, {"settings": json.dumps({"near_dup_threshold": bad})}
            )
    with pytest.raises(SettingsError, match="near_dup_target_precision"):
        CalibrationSettings(near_dup_target_precision=0.0)


def test_export_manifest_records_the_calibration() -> None:
    import datetime as dt

    from dataproc.export.manifest import ManifestFacts, build_manifest

    table = both_splits([0.99] * 30, [0.1] * 30 + [0.95])
    figures = calibrate(table, CalibrationSettings()).table()
    row = figures.to_pylist()[0]
    facts = ManifestFacts(
        dataset="anime",
        version="v0001",
        parent_version=None,
        run_id="run",
        dbt_invocation_id=None,
        git_commit=None,
        rows_per_part=10,
        layouts=(),
        shard_size=1,
        image_format="png",
        image_columns={},
        config={},
        identity_calibration=row,
    )
    manifest = build_manifest(facts, [], pa.schema([]), 0, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert manifest["identity_calibration"] == row
    assert row["threshold_mode"] == "auto" and row["estimated_precision"] == 1.0
