"""Pairwise identity scores on hand-made assignments."""

from __future__ import annotations

import pytest
from dataproc.evaluate import score_identity

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
