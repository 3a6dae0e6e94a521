"""Metrics computed outside the pipeline: every `metrics/<source>/*.<metric>.parquet` of the lake.

A thin adapter over `dataproc.metrics.load_lake_metrics`, which lists the files of the enabled
sources (the file name tells the metric), validates each and reads them with Ibis on the dbt
session into one long table. The enabled sources arrive in `meta.settings` (see
_metrics__models.yml).
"""

from dataproc.catalog import SourceSettings
from dataproc.config import read_settings
from dataproc.lake import Lake
from dataproc.metrics import load_lake_metrics


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(SourceSettings, dbt.config.get("meta"))
    return load_lake_metrics(session, Lake(), settings.enabled_sources)
