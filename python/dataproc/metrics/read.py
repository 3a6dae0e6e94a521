"""Read metric files into one long table `(image_key, source, metric, value, uri)` with Ibis.

Each file must have a `key` column (string or integer: the site key) and a numeric column named
after its metric; anything else fails with an error that names the file. Values are cast to
double; rows with a NULL key or a NULL/NaN value are left out (a missing value is a NULL in the
metrics mart anyway). When several rows give one (image_key, metric), the one read last wins:
the last file in path order, then the last row of that file, so a rerun written as a later part
supersedes an earlier one and the result never depends on listing order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from dataproc.lake import is_s3
from dataproc.metrics.files import MetricFile, MetricFileError

KEY_COLUMN = "key"
LAKE_METRICS_SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("uri", pa.string(), nullable=False),
    ]
)


def file_url(root: str, path: str) -> str:
    """Where DuckDB reads a lake-relative path: under the S3 prefix or the local directory."""
    if is_s3(root):
        return f"{root.rstrip('/')}/{path}"
    return str(Path(root).resolve() / path)


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


def read_metric_files(con: Any, root: str, files: Sequence[MetricFile]) -> pa.Table:
    """The long table of every file, one row per (image_key, metric), sorted by both.

    `con` is an Ibis DuckDB backend; a file that fails validation raises MetricFileError.
    """
    if not files:
        return LAKE_METRICS_SCHEMA.empty_table()
    views: list[str] = []
    try:
        parts = []
        for metric_file in files:
            table = con.read_parquet(file_url(root, metric_file.path), file_row_number=True)
            views.append(table.get_name())
            parts.append(file_rows(table, metric_file))
        return latest_values(ibis.union(*parts))
    finally:
        for view in views:
            # Ibis registers each file as a temporary view on the session; leave none behind.
            # The names are Ibis-generated identifiers (letters, digits and underscores).
            con.raw_sql(f'drop view if exists "{view}"')


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
