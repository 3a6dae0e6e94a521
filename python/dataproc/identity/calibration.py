"""The embedding threshold, calibrated from the lake's own labelled pairs.

In: labelled pairs (`is_same_picture`, `is_cannot_link`, `score` = cosine, `split` = `fit` or
`holdout`; the `int_identity_calibration_pairs` model) and `CalibrationSettings`. Out: a
`Calibration`, whose `table()` is the one-row `identity_calibration` model: the threshold
identity applies to embedding edges, how it was chosen, and its estimated precision and recall.

**Cannot-link pairs** are negatives that refusal keeps apart whatever their score, so they
cost no precision: they take no part in choosing or estimating, and are reported apart (how
many, how many score at or above the threshold) to show how hard the lake's negatives are.

**auto** (`near_dup_threshold: auto`). The threshold is the lowest cosine at which the `fit`
pairs scoring at or above it reach `near_dup_target_precision` (share of positives among them),
that is, just above the negative below the lowest positive that reaches it (see
`lowest_threshold`). Auto needs a fit negative among the candidates (at or above
`near_dup_candidate_floor`): without one the labels say nothing about where copies end and
look-alikes begin.
Precision and recall are then estimated on the `holdout` pairs, which played no part in the
choice. A threshold below `near_dup_candidate_floor` is raised to the floor: the neighbour
search finds no pair below it.

**fixed** (a number). That threshold, with the same estimates when there are labels.

**fallback.** With fewer than `near_dup_min_labels` positives or negatives in either split, no
fit negative at or above the candidate floor, or no threshold reaching the target on the fit
pairs, `near_dup_fallback_threshold` is used and a warning says why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dataproc.config import require

__all__ = ["CALIBRATION_SCHEMA", "Calibration", "CalibrationSettings", "calibrate"]

CALIBRATION_SCHEMA = pa.schema(
    [
        pa.field("threshold_mode", pa.string(), nullable=False),
        pa.field("threshold", pa.float64(), nullable=False),
        pa.field("target_precision", pa.float64(), nullable=False),
        pa.field("positive_pairs", pa.int64(), nullable=False),
        pa.field("negative_pairs", pa.int64(), nullable=False),
        pa.field("cannot_link_pairs", pa.int64(), nullable=False),
        pa.field("cannot_link_above_threshold", pa.int64(), nullable=False),
        pa.field("estimated_precision", pa.float64()),
        pa.field("estimated_recall", pa.float64()),
        pa.field("label_source", pa.string(), nullable=False),
        pa.field("detail", pa.string()),
    ]
)
LABEL_SOURCE = "lake_labels"
# Cosines closer than this are one score: a pair's cosine here (float32) and on its embedding
# edge (float64) differ by rounding, so a cut just above a negative keeps this margin.
SCORE_RESOLUTION = 1e-6


@dataclass(frozen=True)
class CalibrationSettings:
    """The calibration's dbt vars (same names), read with `read_settings`.

    `near_dup_threshold`: `auto`, or a fixed cosine. `near_dup_target_precision`: what auto aims
    for. `near_dup_candidate_floor`: the lowest cosine the neighbour search returns.
    `near_dup_fallback_threshold`: used when the labels cannot choose. `near_dup_min_labels`:
    positives and negatives each split needs for auto.
    """

    near_dup_threshold: float | Literal["auto"] = "auto"
    near_dup_target_precision: float = 0.999
    near_dup_candidate_floor: float = 0.90
    near_dup_fallback_threshold: float = 0.985
    near_dup_min_labels: int = 20

    def __post_init__(self) -> None:
        threshold = self.near_dup_threshold
        if threshold != "auto":
            require(-1.0 <= threshold <= 1.0, "near_dup_threshold", "auto or a cosine", threshold)
        precision = self.near_dup_target_precision
        require(0.0 < precision <= 1.0, "near_dup_target_precision", "in (0, 1]", precision)
        for name in ("near_dup_candidate_floor", "near_dup_fallback_threshold"):
            value = getattr(self, name)
            require(-1.0 <= value <= 1.0, name, "a cosine in [-1, 1]", value)
        require(
            self.near_dup_min_labels >= 1,
            "near_dup_min_labels",
            "at least 1",
            self.near_dup_min_labels,
        )


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold and its figures; one row of `identity_calibration`."""

    threshold_mode: Literal["auto", "fixed", "fallback"]
    threshold: float
    target_precision: float
    positive_pairs: int
    negative_pairs: int
    cannot_link_pairs: int
    cannot_link_above_threshold: int
    estimated_precision: float | None
    estimated_recall: float | None
    label_source: str = LABEL_SOURCE
    detail: str | None = None

    def table(self) -> pa.Table:
        return pa.Table.from_pylist([self.__dict__], schema=CALIBRATION_SCHEMA)


@dataclass(frozen=True)
class Labels:
    """Scores and truth of one split, or of the cannot-link pairs."""

    score: np.ndarray
    positive: np.ndarray

    @classmethod
    def of(cls, pairs: pa.Table, split: str) -> Labels:
        """The pairs of `split` that refusal does not already decide (no cannot-link pairs)."""
        in_split = pc.equal(pairs["split"], split)
        return cls.where(pairs, pc.and_(in_split, pc.invert(pairs["is_cannot_link"])))

    @classmethod
    def cannot_links(cls, pairs: pa.Table) -> Labels:
        return cls.where(pairs, pairs["is_cannot_link"])

    @classmethod
    def where(cls, pairs: pa.Table, mask: pa.ChunkedArray) -> Labels:
        rows = pairs.filter(mask)
        score = rows["score"].to_numpy(zero_copy_only=False).astype(np.float64)
        positive = rows["is_same_picture"].to_numpy(zero_copy_only=False).astype(bool)
        return cls(score=score, positive=positive)

    @property
    def positives(self) -> int:
        return int(self.positive.sum())

    @property
    def negatives(self) -> int:
        return int((~self.positive).sum())

    def precision_recall(self, threshold: float) -> tuple[float | None, float | None]:
        """Precision and recall of "same picture when score >= threshold" (None: undefined)."""
        above = self.score >= threshold
        found = int((above & self.positive).sum())
        precision = found / int(above.sum()) if above.any() else None
        recall = found / self.positives if self.positives else None
        return precision, recall


def lowest_threshold(labels: Labels, target_precision: float) -> float | None:
    """The lowest threshold at which the pairs scoring >= it reach `target_precision`.

    Candidates are the positives' scores; ties count together, since a threshold cannot split
    pairs of equal score. None when no candidate reaches the target. Every cut between the
    lowest reaching positive and the next lower pair (a negative the cut must leave out) gives
    the same precision on these pairs, so the lowest is taken: `SCORE_RESOLUTION` above that
    negative (a positive's score is only a sample's minimum; the negative bounds the cut).
    """
    order = np.argsort(-labels.score, kind="stable")
    score, positive = labels.score[order], labels.positive[order]
    # Precision of "score >= score[i]" is taken at the last row of each run of equal scores.
    last_of_tie = np.append(score[1:] != score[:-1], True)
    true_above = np.cumsum(positive)[last_of_tie]
    all_above = (np.flatnonzero(last_of_tie) + 1).astype(np.float64)
    scores = score[last_of_tie]
    has_positive = np.append(True, true_above[1:] > true_above[:-1]) & (true_above > 0)
    reaching = np.flatnonzero((true_above / all_above >= target_precision) & has_positive)
    if not len(reaching):
        return None
    lowest = reaching[-1]
    if lowest + 1 == len(scores):
        return float(scores[lowest])
    return float(min(scores[lowest + 1] + SCORE_RESOLUTION, scores[lowest]))


def calibrate(pairs: pa.Table, settings: CalibrationSettings) -> Calibration:
    """Choose the embedding threshold from labelled `pairs` (see the module docstring)."""
    fit, holdout = Labels.of(pairs, "fit"), Labels.of(pairs, "holdout")
    cannot_links = Labels.cannot_links(pairs)
    if settings.near_dup_threshold != "auto":
        threshold = float(settings.near_dup_threshold)
        return _measured("fixed", threshold, fit, holdout, cannot_links, settings)
    fewest = min(fit.positives, fit.negatives, holdout.positives, holdout.negatives)
    if fewest < settings.near_dup_min_labels:
        reason = (
            f"too few labelled pairs to calibrate ({fewest} in the smallest class of a split;"
            f" near_dup_min_labels is {settings.near_dup_min_labels})"
        )
        return _fallback(reason, fit, holdout, cannot_links, settings)
    floor = settings.near_dup_candidate_floor
    if not (fit.score[~fit.positive] >= floor).any():
        reason = (
            f"no fit negative scores at or above near_dup_candidate_floor {floor}, so the labels"
            " cannot tell where copies end"
        )
        return _fallback(reason, fit, holdout, cannot_links, settings)
    chosen = lowest_threshold(fit, settings.near_dup_target_precision)
    if chosen is None:
        reason = (
            f"no threshold reaches precision {settings.near_dup_target_precision} on the fit pairs"
        )
        return _fallback(reason, fit, holdout, cannot_links, settings)
    if chosen < floor:
        detail = f"{chosen:.6f} raised to near_dup_candidate_floor"
        return _measured("auto", floor, fit, holdout, cannot_links, settings, detail)
    return _measured("auto", chosen, fit, holdout, cannot_links, settings)


def _measured(
    mode: Literal["auto", "fixed", "fallback"],
    threshold: float,
    fit: Labels,
    holdout: Labels,
    cannot_links: Labels,
    settings: CalibrationSettings,
    detail: str | None = None,
) -> Calibration:
    """The calibration row for `threshold`, its estimates taken on the holdout pairs."""
    precision, recall = holdout.precision_recall(threshold)
    return Calibration(
        threshold_mode=mode,
        threshold=threshold,
        target_precision=settings.near_dup_target_precision,
        positive_pairs=fit.positives + holdout.positives,
        negative_pairs=fit.negatives + holdout.negatives,
        cannot_link_pairs=len(cannot_links.score),
        cannot_link_above_threshold=int((cannot_links.score >= threshold).sum()),
        estimated_precision=precision,
        estimated_recall=recall,
        detail=detail,
    )


def _fallback(
    reason: str,
    fit: Labels,
    holdout: Labels,
    cannot_links: Labels,
    settings: CalibrationSettings,
) -> Calibration:
    threshold = settings.near_dup_fallback_threshold
    warnings.warn(
        f"near_dup_threshold auto: {reason}; using near_dup_fallback_threshold {threshold}",
        stacklevel=3,
    )
    return _measured("fallback", threshold, fit, holdout, cannot_links, settings, reason)
