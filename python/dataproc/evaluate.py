"""Pairwise precision and recall of image identity clusters against ground truth.

A pair of image keys is *predicted* together when both keys share an image_id, and *truly*
together when both show the same ground-truth picture. Precision is the share of predicted pairs
that are true; recall the share of true pairs that are predicted. Per transform kind, a pair
counts for the kinds of both its members (an original paired with a watermarked copy counts for
`watermarked`), so each kind says how well copies made that way are found.

In: the demo lake's ground truth (`ground_truth/pictures.parquet`: image_key, picture_id,
transform) and the `int_image_identity` table of a build's DuckDB file. Out: `IdentityScores`,
which `describe()` prints as the table `dataproc eval identity` shows.
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

    def describe(self) -> str:
        lines = [
            f"keys evaluated: {self.keys}",
            f"{'slice':<14}{'precision':>10}{'recall':>10}{'true':>8}{'predicted':>11}",
        ]
        rows = [("overall", self.overall), *sorted(self.by_transform.items())]
        for name, s in rows:
            lines.append(
                f"{name:<14}{s.precision:>10.4f}{s.recall:>10.4f}"
                f"{s.true_pairs:>8}{s.predicted_pairs:>11}"
            )
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
    return IdentityScores(keys=len(keys), overall=overall, by_transform=dict(by_transform))
