"""Lake entries the image catalog refused, each with a reason code and a detail.

A thin adapter over `dataproc.catalog.scan_lake`, like int_image_catalog. It scans the lake
itself rather than sharing a scan with that model: dbt runs the two as separate models, and
the scan is deterministic, so both see the same lake as long as inputs do not change mid-build.
"""

from dataproc.catalog import parse_source_list, scan_lake
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    sources = parse_source_list(meta.get("enabled_sources"))
    return scan_lake(lake_root(), sources).rejects
