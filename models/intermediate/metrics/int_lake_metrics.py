"""Metrics computed outside the pipeline: every `metrics/<source>/*.<metric>.parquet` of the lake.

A thin adapter over `dataproc.metrics.load_lake_metrics`, which discovers the files of the
enabled sources (the file name tells the metric), validates each and reads them with Ibis on
the dbt session into one long table. The enabled sources arrive through `meta` (see
_metrics__models.yml).
"""

from dataproc.catalog import parse_source_list
from dataproc.lake import lake_root
from dataproc.metrics import load_lake_metrics


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    sources = parse_source_list(meta.get("enabled_sources"))
    return load_lake_metrics(session, lake_root(), sources)
