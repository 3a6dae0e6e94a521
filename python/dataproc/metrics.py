"""Metrics computed outside the pipeline: `metrics/<source>/**/<name>.<metric>.parquet`.

In: a `Lake`, the enabled sources, and a DuckDB connection (the dbt session). Out:
`load_lake_metrics` gives one long Arrow table `(image_key, source, metric, value, uri)`, one
row per (image_key, metric). Pivoting to one row per image is SQL (the metrics mart), driven by
the metrics registry seed.

The file name tells the metric: the part between the last two dots before `.parquet`
(`part-00000.aesthetic.parquet` holds `aesthetic`), so a new metric needs no configuration.
Files are listed through the `Lake`, per enabled source prefix, and read by DuckDB (through
Ibis) at their lake URL; S3 lakes need DuckDB's S3 secret, which the dbt plugin creates.

Each file must have a `key` column (string or integer: the site key) and a numeric column named
after its metric; anything else fails with an error that names the file. Values are cast to
double; rows with a NULL key or a NULL/NaN value are left out (a missing value is a NULL in the
metrics mart anyway). When several rows give one (image_key, metric), the one read last wins:
the last file in path order, then the last row of that file, so a rerun written as a later part
supersedes an earlier one and the result never depends on listing order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from dataproc.lake import Lake
from dataproc.progress import progress

METRICS = "metrics"
PARQUET_SUFFIX = ".parquet"
KEY_COLUMN = "key"
# Metric names become SQL column names in the metrics mart.
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
LAKE_METRICS_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
    ]
)


class MetricFileError(ValueError):
    """A metric file the pipeline cannot use; the message names the file."""


@dataclass(frozen=True)
class MetricFile:
    """One metric parquet file: lake-relative `path`, its `source` and the `metric` it holds."""

    path: str
    source: str
    metric: str


def load_lake_metrics(session: Any, lake: Lake, sources: Sequence[str] | None) -> pa.Table:
    """Every metric value of `lake` for `sources` (all when None), long form.

    `session` is a DuckDB connection. Ibis sets the session time zone to UTC, which the
    profiles set anyway.
    """
    files = list_metric_files(lake, sources)
    return read_metric_files(ibis.duckdb.from_connection(session), lake, files)


def list_metric_files(lake: Lake, sources: Sequence[str] | None) -> list[MetricFile]:
    """Every metric file of the given sources (all sources when None), sorted by path."""
    if sources is None:
        sources = lake.folders(METRICS)
    found = [
        metric_file
        for source in sorted(set(sources))
        for obj in lake.list(f"{METRICS}/{source}")
        if (metric_file := parse_metric_path(obj.path)) is not None
    ]
    return sorted(found, key=lambda metric_file: metric_file.path)


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


def read_metric_files(con: Any, lake: Lake, files: Sequence[MetricFile]) -> pa.Table:
    """The long table of every file, one row per (image_key, metric), sorted by both.

    `con` is an Ibis DuckDB backend. Files that fail validation raise one MetricFileError that
    names every one of them, so a user fixes them all in one go.
    """
    if not files:
        return LAKE_METRICS_SCHEMA.empty_table()
    views: list[str] = []
    try:
        parts, problems = [], []
        for metric_file in progress(files, len(files), "metric files checked", "file"):
            table = con.read_parquet(lake.url(metric_file.path), file_row_number=True)
            views.append(table.get_name())
            try:
                parts.append(file_rows(table, metric_file))
            except MetricFileError as problem:
                problems.append(str(problem))
        if problems:
            raise MetricFileError("\n".join(problems))
        return latest_values(ibis.union(*parts))
    finally:
        for view in views:
            # Ibis registers each file as a temporary view on the session; leave none behind.
            # The names are Ibis-generated identifiers (letters, digits and underscores).
            con.raw_sql(f'drop view if exists "{view}"')


def file_rows(table: ibis.Table, metric_file: MetricFile) -> ibis.Table:
    """One file's rows (`table`, read with its row numbers) in the long shape."""
    check_schema(metric_file, table.schema())
    key = table[KEY_COLUMN].cast(dt.string)
    value = table[metric_file.metric].cast(dt.float64)
    rows = table.select(
        image_key=ibis.literal(f"{metric_file.source}:") + key,
        source=ibis.literal(metric_file.source),
        metric=ibis.literal(metric_file.metric),
        value=value,
        uri=ibis.literal(metric_file.path),
        file_row_number=table["file_row_number"],
    )
    return rows.filter(rows.image_key.notnull(), rows.value.notnull(), ~rows.value.isnan())


def check_schema(metric_file: MetricFile, schema: ibis.Schema) -> None:
    """Fail, naming the file, unless it has a string/integer `key` and a numeric metric column."""
    where = f"metric file {metric_file.path}"
    columns = ", ".join(schema.names)
    if KEY_COLUMN not in schema:
        raise MetricFileError(f"{where}: no `{KEY_COLUMN}` column (columns: {columns})")
    key_type = schema[KEY_COLUMN]
    if not (key_type.is_string() or key_type.is_integer()):
        raise MetricFileError(f"{where}: `{KEY_COLUMN}` is {key_type}, not a string or integer")
    if metric_file.metric not in schema:
        raise MetricFileError(
            f"{where}: no `{metric_file.metric}` column for metric {metric_file.metric!r} "
            f"(columns: {columns})"
        )
    value_type = schema[metric_file.metric]
    if not value_type.is_numeric() or value_type.is_boolean():
        raise MetricFileError(f"{where}: `{metric_file.metric}` is {value_type}, not a number")


def latest_values(rows: ibis.Table) -> pa.Table:
    """One row per (image_key, metric): the one read last, by file path then row number."""
    latest_first = ibis.row_number().over(
        group_by=[rows.image_key, rows.metric],
        order_by=[ibis.desc(rows.uri), ibis.desc(rows.file_row_number)],
    )
    latest = (
        rows.mutate(read_rank=latest_first)
        .filter(lambda t: t.read_rank == 0)
        .select(*LAKE_METRICS_SCHEMA.names)
        .order_by(["image_key", "metric"])
    )
    return latest.to_pyarrow().cast(LAKE_METRICS_SCHEMA)
