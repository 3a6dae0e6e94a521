"""The figures of a build's report, read from its tables: everything `stats.json` holds.

In: `ReportTables`, DuckDB relations of the build (the export rows, the funnel, the rejections,
the images mart, the image files, and the identity calibration when the build has one), and the
dataset, version and lake-relative location of the published version. Out: a JSON-ready dict
(`read_stats`), and the image refs of the sample grid (`read_samples`) and its listing
(`samples_json`). Every list is sorted, so the same tables give the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HISTOGRAM_BINS = 20
# Columns of the identity calibration, in the order the report shows them.
CALIBRATION_COLUMNS = (
    "threshold_mode",
    "threshold",
    "target_precision",
    "positive_pairs",
    "negative_pairs",
    "estimated_precision",
    "estimated_recall",
    "label_source",
)


@dataclass(frozen=True)
class ReportTables:
    """The build's tables the report reads; `identity_calibration` is None when the build
    has no such table."""

    export_rows: duckdb.DuckDBPyRelation
    funnel: duckdb.DuckDBPyRelation
    rejections: duckdb.DuckDBPyRelation
    images: duckdb.DuckDBPyRelation
    image_files: duckdb.DuckDBPyRelation
    identity_calibration: duckdb.DuckDBPyRelation | None = None


@dataclass(frozen=True)
class SampleLimits:
    """How many thumbnails each grid shows: kept images, rejected images, and duplicate
    clusters of at most `cluster_members` members each."""

    kept: int = 12
    rejected: int = 12
    clusters: int = 6
    cluster_members: int = 6


@dataclass(frozen=True)
class Sample:
    """One thumbnail of the grid: the image's key and where its bytes are, and its caption."""

    group: str
    image_key: str
    uri: str | None
    offset: int | None
    length: int | None
    title: str
    caption: str


def read_stats(tables: ReportTables, dataset: str, version: str, location: str) -> dict[str, Any]:
    """Every figure of the report except the thumbnails."""
    return {
        "format": "dataproc-report",
        "format_version": 1,
        "headline": headline(tables, dataset, version, location),
        "funnel": funnel(tables.funnel),
        "dedup": dedup(tables.images),
        "rejections": rejections_by_source(tables.rejections),
        "histograms": histograms(tables.export_rows),
        "identity_calibration": calibration(tables.identity_calibration),
    }


def headline(tables: ReportTables, dataset: str, version: str, location: str) -> dict[str, Any]:
    """How many images the version holds, how many with an image file, and from which sites."""
    rows = tables.export_rows
    images, with_file = rows.aggregate("count(*), count(image_uri)").fetchone()
    by_source = rows.project("unnest(sources) as source").aggregate("source, count(*) as n")
    return {
        "dataset": dataset,
        "version": version,
        "location": location,
        "images": int(images),
        "images_with_file": int(with_file),
        "images_by_source": dict(sorted(by_source.fetchall())),
    }


def funnel(relation: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
    """The funnel as rows of `{column: value}`, every column it has, by source then step."""
    ordered = relation.order("source, step")
    names = ordered.columns
    return [json_row(dict(zip(names, row, strict=True))) for row in ordered.fetchall()]


def dedup(images: duckdb.DuckDBPyRelation) -> dict[str, int]:
    """The dedup step: image keys merged into images, and the clusters of more than one key."""
    keys, count, clusters, merged_keys = images.aggregate(
        "sum(n_members), count(*), count(*) filter (where n_members > 1), "
        "coalesce(sum(n_members) filter (where n_members > 1), 0)"
    ).fetchone()
    return {
        "image_keys": int(keys or 0),
        "images": int(count),
        "merged_clusters": int(clusters),
        "keys_in_merged_clusters": int(merged_keys),
        "duplicates_removed": int(keys or 0) - int(count),
    }


def rejections_by_source(relation: duckdb.DuckDBPyRelation) -> list[dict[str, Any]]:
    """Rejected keys per (stage, reason, source)."""
    counts = relation.aggregate(
        "stage, reason, coalesce(source, 'unknown') as source, count(*) as n"
    ).order("stage, reason, source")
    return [
        {"stage": stage, "reason": reason, "source": source, "n": int(n)}
        for stage, reason, source, n in counts.fetchall()
    ]


def histograms(rows: duckdb.DuckDBPyRelation) -> dict[str, dict[str, Any]]:
    """A histogram of every numeric metric of the exported images, and of their tag counts."""
    numeric = [
        name
        for name, kind in zip(rows.columns, rows.types, strict=True)
        if name.startswith("metric_") and str(kind) in NUMERIC_TYPES
    ]
    projection = ", ".join([*(f'"{name}"' for name in numeric), "len(tags) as tag_count"])
    table = rows.project(projection).to_arrow_table()
    return {
        name.removeprefix("metric_"): histogram(table[name]) for name in [*numeric, "tag_count"]
    }


NUMERIC_TYPES = {"DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "HUGEINT", "UBIGINT"}


def histogram(column: pa.ChunkedArray, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """Equal-width bins over the column's range; NULLs are counted apart."""
    values = pc.drop_null(column).to_numpy(zero_copy_only=False).astype(np.float64)
    nulls = len(column) - len(values)
    if len(values) == 0:
        return {"edges": [], "counts": [], "nulls": nulls, "min": None, "max": None}
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=bins if high > low else 1)
    return {
        "edges": [round(float(edge), 6) for edge in edges],
        "counts": [int(count) for count in counts],
        "nulls": nulls,
        "min": round(low, 6),
        "max": round(high, 6),
    }


def calibration(relation: duckdb.DuckDBPyRelation | None) -> list[dict[str, Any]] | None:
    """Every row of the identity calibration (None when the build has no such table)."""
    if relation is None:
        return None
    ordered = relation.order(", ".join(f'"{name}"' for name in relation.columns))
    names = ordered.columns
    return [json_row(dict(zip(names, row, strict=True))) for row in ordered.fetchall()]


def read_samples(tables: ReportTables, limits: SampleLimits) -> list[Sample]:
    """The images of the sample grid: kept images with their prompts, rejected images with
    their reasons (one of each reason first), and the members of the largest merged clusters."""
    kept = (
        tables.export_rows.filter("image_uri is not null")
        .order("image_id")
        .limit(limits.kept)
        .project("image_id, best_image_key, image_uri, image_offset, image_length, prompt")
    )
    samples = [
        Sample("kept", key, uri, offset, length, image_id, prompt)
        for image_id, key, uri, offset, length, prompt in kept.fetchall()
    ]
    samples += rejected_samples(tables, limits.rejected)
    samples += cluster_samples(tables, limits)
    return samples


def samples_json(samples: Sequence[Sample]) -> dict[str, list[dict[str, str]]]:
    """The sample grid as `stats.json` lists it: which images, and why each is there."""
    return {
        "kept": [
            {"image_id": s.title, "image_key": s.image_key, "prompt": s.caption}
            for s in samples
            if s.group == "kept"
        ],
        "rejected": [
            {"image_key": s.image_key, "reason": s.title, "detail": s.caption}
            for s in samples
            if s.group == "rejected"
        ],
        "clusters": [
            {"image_id": s.caption, "image_key": s.image_key}
            for s in samples
            if s.group.startswith("cluster:")
        ],
    }


def rejected_samples(tables: ReportTables, limit: int) -> list[Sample]:
    """Rejected keys that have a file: the first of each (stage, reason), then the next ones."""
    files = tables.image_files.project('image_key, uri, "offset", length')
    rejected = tables.rejections.project("image_key, stage, reason, detail").join(
        files, "image_key"
    )
    ranked = rejected.project(
        'image_key, uri, "offset", length, stage, reason, detail, '
        "row_number() over (partition by stage, reason order by image_key) as rank_in_reason"
    )
    picked = ranked.order("rank_in_reason, stage, reason, image_key").limit(limit)
    return [
        Sample("rejected", key, uri, offset, length, f"{stage}: {reason}", detail or key)
        for key, uri, offset, length, stage, reason, detail, _ in picked.fetchall()
    ]


def cluster_samples(tables: ReportTables, limits: SampleLimits) -> list[Sample]:
    """The members of the largest merged clusters, each cluster's members side by side."""
    clusters = (
        tables.images.filter("n_members > 1")
        .order("n_members desc, image_id")
        .limit(limits.clusters)
        .project("image_id, member_keys")
        .fetchall()
    )
    members = [(image_id, key) for image_id, keys in clusters for key in keys]
    locations = file_locations(tables.image_files, [key for _, key in members])
    shown: dict[str, int] = {}
    samples = []
    for image_id, key in members:
        if shown.get(image_id, 0) >= limits.cluster_members:
            continue
        shown[image_id] = shown.get(image_id, 0) + 1
        uri, offset, length = locations.get(key, (None, None, None))
        samples.append(Sample(f"cluster:{image_id}", key, uri, offset, length, key, image_id))
    return samples


def file_locations(
    image_files: duckdb.DuckDBPyRelation, keys: Sequence[str]
) -> dict[str, tuple[str, int, int]]:
    """(uri, offset, length) of each of `keys` that has a file."""
    if not keys:
        return {}
    listed = ", ".join(sql_string(key) for key in sorted(set(keys)))
    found = image_files.filter(f"image_key in ({listed})").project(
        'image_key, uri, "offset", length'
    )
    return {key: (uri, offset, length) for key, uri, offset, length in found.fetchall()}


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose values JSON can hold: numbers as int or float, anything else as text."""
    return {name: json_scalar(value) for name, value in row.items()}


def json_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return round(value, 6)
    try:
        return round(float(value), 6)
    except (TypeError, ValueError):
        return str(value)
