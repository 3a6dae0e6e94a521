"""Pairwise identity scores on hand-made assignments, against ground truth or held-out labels."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dataproc.evaluate import (
    GROUND_TRUTH,
    HELD_OUT_LABELS,
    PICTURES,
    evaluate_identity,
    score_identity,
    score_labels,
)
from dataproc.lake import Lake

TRUTH = {"a:1": 1, "b:1": 1, "c:1": 1, "a:2": 2, "b:2": 2, "a:3": 3}
TRANSFORM = {"b:1": "resized", "c:1": "watermarked", "b:2": "same_file"}


def test_perfect_clustering_scores_one() -> None:
    predicted = {key: f"img_{picture}" for key, picture in TRUTH.items()}
    scores = score_identity(predicted, TRUTH, TRANSFORM)
    assert (scores.overall.true_pairs, scores.overall.predicted_pairs) == (4, 4)
    assert scores.overall.precision == scores.overall.recall == 1.0


def test_missed_copy_lowers_recall_for_its_transform_only() -> None:
    predicted = {"a:1": "x", "b:1": "x", "c:1": "y", "a:2": "z", "b:2": "z", "a:3": "w"}
    scores = score_identity(predicted, TRUTH, TRANSFORM)
    assert scores.overall.recall == pytest.approx(2 / 4)
    assert scores.overall.precision == 1.0
    assert scores.by_transform["watermarked"].recall == 0.0
    assert scores.by_transform["resized"].recall == pytest.approx(1 / 2)
    assert scores.by_transform["same_file"].recall == 1.0


def test_false_merge_lowers_precision_and_unknown_keys_are_ignored() -> None:
    predicted = {key: "one" for key in TRUTH} | {"zz:9": "one"}
    scores = score_identity(predicted, TRUTH, TRANSFORM)
    assert scores.keys == len(TRUTH)
    assert scores.overall.predicted_pairs == 15
    assert scores.overall.precision == pytest.approx(4 / 15)
    assert scores.overall.recall == 1.0


def test_variants_merged_with_another_picture_are_counted() -> None:
    truth = {"d:1": 1, "d:2": 2, "z:2": 2, "d:3": 3}
    transform = {"d:2": "variant", "d:3": "variant"}
    predicted = {"d:1": "x", "d:2": "x", "z:2": "x", "d:3": "y"}
    scores = score_identity(predicted, truth, transform)
    assert (scores.variants, scores.variants_merged) == (2, 1)
    assert "variants merged with another picture: 1 of 2" in scores.describe()


def test_held_out_labels_score_pairs_per_label_source() -> None:
    labels = [
        ("d:1", "p:1_p0", True, "pixiv_id"),
        ("d:2", "z:2", True, "source_url"),
        ("d:3", "d:4", False, "booru_parent_child"),
        ("d:1", "d:3", False, "random_pair"),
        ("d:1", "gone:1", True, "source_url"),  # a key without an image_id is skipped
    ]
    predicted = {"d:1": "a", "p:1_p0": "a", "d:3": "a", "d:2": "b", "z:2": "c", "d:4": "d"}
    scores = score_labels(predicted, labels)
    assert scores.scored_against.startswith("held-out labels")
    assert (scores.overall.true_pairs, scores.overall.predicted_pairs) == (2, 2)
    assert scores.overall.precision == scores.overall.recall == pytest.approx(1 / 2)
    assert scores.by_transform["random_pair"].predicted_pairs == 1
    assert scores.by_transform["booru_parent_child"].predicted_pairs == 0


def test_eval_uses_ground_truth_when_the_lake_has_one(tmp_path: Path) -> None:
    database = tmp_path / "build.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_image_identity as select * from"
            " (values ('d:1', 'a'), ('z:1', 'a'), ('d:2', 'b')) t(image_key, image_id)"
        )
        con.execute(
            "create table intermediate.int_identity_calibration_pairs as select * from (values"
            " ('d:1', 'z:1', true, 'source_url', 'holdout'),"
            " ('d:1', 'd:2', true, 'source_url', 'fit'))"
            " t(left_key, right_key, is_same_picture, label_source, split)"
        )
    lake = Lake(str(tmp_path / "lake"))
    labelled = evaluate_identity(lake, database)
    assert labelled.scored_against == HELD_OUT_LABELS
    assert (labelled.overall.true_pairs, labelled.overall.recall) == (1, 1.0)
    truth = pa.table(
        {"image_key": ["d:1", "z:1", "d:2"], "picture_id": [1, 2, 2], "transform": ["original"] * 3}
    )
    lake.put_parquet(PICTURES, truth)
    scored = evaluate_identity(lake, database)
    assert scored.scored_against == GROUND_TRUTH
    assert (scored.overall.precision, scored.overall.recall) == (0.0, 0.0)
