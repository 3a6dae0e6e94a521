"""Find the metric files of the lake: `metrics/<source>/**/<name>.<metric>.parquet`.

The file name tells the metric: the part between the last two dots before `.parquet`
(`part-00000.aesthetic.parquet` holds `aesthetic`). Any metric name is picked up, so a new
metric needs no configuration to reach the pipeline. Listing goes per enabled source prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import obstore

METRICS = "metrics"
PARQUET_SUFFIX = ".parquet"
# Metric names become SQL column names in the metrics mart.
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class MetricFileError(ValueError):
    """A metric file the pipeline cannot use; the message names the file."""


@dataclass(frozen=True)
class MetricFile:
    """One metric parquet file: lake-relative `path`, its `source` and the `metric` it holds."""

    path: str
    source: str
    metric: str


def parse_metric_path(path: str) -> MetricFile | None:
    """The metric file at lake-relative `path`, or None when it is not a parquet file under
    `metrics/<source>/`. A parquet file whose name does not tell a valid metric is an error."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != METRICS or not path.endswith(PARQUET_SUFFIX):
        return None
    name = parts[-1][: -len(PARQUET_SUFFIX)]
    stem, dot, metric = name.rpartition(".")
    if not dot or not stem:
        raise MetricFileError(
            f"metric file {path}: the name must be <name>.<metric>.parquet to tell the metric"
        )
    if not METRIC_NAME.match(metric):
        raise MetricFileError(
            f"metric file {path}: metric name {metric!r} must match {METRIC_NAME.pattern}"
        )
    return MetricFile(path=path, source=parts[1], metric=metric)


def list_metric_files(store: Any, sources: Sequence[str] | None) -> list[MetricFile]:
    """Every metric file of the given sources (all sources when None), sorted by path."""
    if sources is None:
        listing = obstore.list_with_delimiter(store, METRICS)
        sources = [p.rstrip("/").rsplit("/", 1)[-1] for p in listing["common_prefixes"]]
    found: list[MetricFile] = []
    for source in sorted(set(sources)):
        for chunk in obstore.list(store, f"{METRICS}/{source}/", chunk_size=1000):
            for meta in chunk:
                metric_file = parse_metric_path(meta["path"])
                if metric_file is not None:
                    found.append(metric_file)
    return sorted(found, key=lambda metric_file: metric_file.path)
