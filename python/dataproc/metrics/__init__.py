"""Metrics computed outside the pipeline: `metrics/<source>/*.<metric>.parquet` in the lake.

`load_lake_metrics` lists the files of the enabled sources (obstore, local or S3), validates
each and reads them with Ibis on a DuckDB connection into one long Arrow table
`(image_key, source, metric, value, uri)`. Pivoting to one row per image is SQL (the metrics
mart), driven by the metrics registry seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pyarrow as pa

from dataproc.lake import open_store
from dataproc.metrics.files import MetricFile, MetricFileError, list_metric_files
from dataproc.metrics.read import LAKE_METRICS_SCHEMA, read_metric_files


def load_lake_metrics(session, root: str, sources: Sequence[str] | None) -> pa.Table:
    """Every metric value of the lake at `root` for `sources` (all when None), long form.

    `session` is a DuckDB connection (the dbt session). Ibis sets the session time zone to UTC,
    which the profiles set anyway. Files are read through DuckDB, so S3 lakes need its S3
    secret (the dbt plugin creates it).
    """
    files = list_metric_files(open_store(root), sources)
    con = ibis.duckdb.from_connection(session)
    return read_metric_files(con, root, files)


__all__ = [
    "LAKE_METRICS_SCHEMA",
    "MetricFile",
    "MetricFileError",
    "list_metric_files",
    "load_lake_metrics",
    "read_metric_files",
]
