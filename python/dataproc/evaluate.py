"""Pairwise precision and recall of image identity clusters, on any lake.

A pair of image keys is *predicted* together when both keys share an image_id, and *truly*
together when both show the same picture. Precision is the share of predicted pairs that are
true; recall the share of true pairs that are predicted.

**Ground truth** (a demo lake's `ground_truth/pictures.parquet`: image_key, picture_id,
transform). Every pair of evaluated keys counts. Per transform kind, a pair counts for the kinds
of both its members (an original paired with a watermarked copy counts for `watermarked`), so
each kind says how well copies made that way are found. `variants merged` counts the keys of
transform `variant` (a redrawn version of another picture, such as a booru child post) that
share their image_id with a key of another picture.

**Held-out labels** (any other lake). The `holdout` pairs of `int_identity_calibration_pairs`,
which the threshold was not chosen on: positives are link-joined pairs whose files differ,
negatives cannot-link pairs (refused by construction), same-site near-duplicate candidates with
different md5, and random pairs. Slices are the label sources.

In: the lake and a build's DuckDB file (`int_image_identity`, and without ground truth
`int_identity_calibration_pairs`). Out: `IdentityScores`, which `describe()` prints as the
table `dataproc eval identity` shows, naming what it was scored against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import duckdb

from dataproc.lake import Lake

PICTURES = "ground_truth/pictures.parquet"
VARIANT = "variant"
GROUND_TRUTH = f"ground truth ({PICTURES})"
HELD_OUT_LABELS = "held-out labels (int_identity_calibration_pairs, split holdout); no ground truth"


def read_pictures(lake: Lake) -> tuple[dict[str, int], dict[str, str]]:
    """(image_key → picture_id, image_key → transform) from the lake's ground truth."""
    table = lake.read_parquet(PICTURES, columns=["image_key", "picture_id", "transform"])
    keys = table.column("image_key").to_pylist()
    pictures = dict(zip(keys, table.column("picture_id").to_pylist(), strict=True))
    transforms = dict(zip(keys, table.column("transform").to_pylist(), strict=True))
    return pictures, transforms


def read_assignment(database: Path) -> dict[str, str]:
    """image_key → image_id from the `int_image_identity` table a build wrote."""
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.sql("select image_key, image_id from intermediate.int_image_identity").fetchall()
    return dict(rows)


LabelledPair = tuple[str, str, bool, str]


def read_holdout_labels(database: Path) -> list[LabelledPair]:
    """(left_key, right_key, is_same_picture, label_source) of the held-out calibration pairs."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(
            "select left_key, right_key, is_same_picture, label_source"
            " from intermediate.int_identity_calibration_pairs where split = 'holdout'"
            " order by left_key, right_key"
        ).fetchall()


@dataclass
class PairScores:
    """Pair counts for one slice of the evaluation."""

    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


@dataclass
class IdentityScores:
    """Overall and per-transform pair scores over the keys both sides know."""

    keys: int
    overall: PairScores
    by_transform: dict[str, PairScores] = field(default_factory=dict)
    scored_against: str = GROUND_TRUTH
    variants: int = 0
    variants_merged: int = 0

    def describe(self) -> str:
        lines = [
            f"scored against: {self.scored_against}",
            f"keys evaluated: {self.keys}",
            f"{'slice':<24}{'precision':>10}{'recall':>10}{'true':>8}{'predicted':>11}",
        ]
        rows = [("overall", self.overall), *sorted(self.by_transform.items())]
        for name, s in rows:
            lines.append(
                f"{name:<24}{s.precision:>10.4f}{s.recall:>10.4f}"
                f"{s.true_pairs:>8}{s.predicted_pairs:>11}"
            )
        if self.scored_against == GROUND_TRUTH:
            merged = f"{self.variants_merged} of {self.variants}"
            lines.append(f"variants merged with another picture: {merged}")
        return "\n".join(lines)


def _pairs(groups: Mapping[object, list[str]]) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for members in groups.values():
        pairs.update(combinations(sorted(members), 2))
    return pairs


def _group(assignment: Mapping[str, object], keys: Iterable[str]) -> dict[object, list[str]]:
    groups: dict[object, list[str]] = defaultdict(list)
    for key in keys:
        groups[assignment[key]].append(key)
    return groups


def score_identity(
    predicted: Mapping[str, str],
    truth: Mapping[str, int],
    transform: Mapping[str, str],
) -> IdentityScores:
    """Score `predicted` (image_key → image_id) against `truth` (image_key → picture_id).

    Only keys present in both are evaluated: keys the pipeline rejected are accounted for in
    `rejections`, not here.
    """
    keys = sorted(set(predicted) & set(truth))
    predicted_pairs = _pairs(_group(predicted, keys))
    true_pairs = _pairs(_group(truth, keys))
    correct = predicted_pairs & true_pairs

    by_transform: dict[str, PairScores] = defaultdict(PairScores)
    for counter, pairs in (
        ("true_pairs", true_pairs),
        ("predicted_pairs", predicted_pairs),
        ("correct_pairs", correct),
    ):
        for left, right in pairs:
            for kind in {transform.get(left, "original"), transform.get(right, "original")}:
                setattr(by_transform[kind], counter, getattr(by_transform[kind], counter) + 1)

    overall = PairScores(len(true_pairs), len(predicted_pairs), len(correct))
    variants = [key for key in keys if transform.get(key) == VARIANT]
    pictures_of_id: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        pictures_of_id[predicted[key]].add(truth[key])
    merged = sum(len(pictures_of_id[predicted[key]]) > 1 for key in variants)
    return IdentityScores(
        keys=len(keys),
        overall=overall,
        by_transform=dict(by_transform),
        variants=len(variants),
        variants_merged=merged,
    )


def score_labels(predicted: Mapping[str, str], labels: Iterable[LabelledPair]) -> IdentityScores:
    """Score `predicted` on labelled pairs, overall and per label source.

    A labelled pair is predicted together when both keys have the same image_id; pairs with a
    key that has no image_id are skipped.
    """
    overall = PairScores()
    by_source: dict[str, PairScores] = defaultdict(PairScores)
    keys: set[str] = set()
    for left, right, is_same, source in labels:
        if left not in predicted or right not in predicted:
            continue
        keys.update((left, right))
        together = predicted[left] == predicted[right]
        for scores in (overall, by_source[source]):
            scores.true_pairs += is_same
            scores.predicted_pairs += together
            scores.correct_pairs += is_same and together
    return IdentityScores(
        keys=len(keys),
        overall=overall,
        by_transform=dict(by_source),
        scored_against=HELD_OUT_LABELS,
    )


def evaluate_identity(lake: Lake, database: Path) -> IdentityScores:
    """Scores against the lake's ground truth when it has one, else its held-out labels."""
    predicted = read_assignment(database)
    if lake.exists(PICTURES):
        pictures, transforms = read_pictures(lake)
        return score_identity(predicted, pictures, transforms)
    return score_labels(predicted, read_holdout_labels(database))
