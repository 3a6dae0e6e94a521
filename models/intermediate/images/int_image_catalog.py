"""The image catalog: one row per image in the lake, with where its bytes are.

A thin adapter over `dataproc.catalog.scan_lake`, which lists `images/<source>/` and indexes
`shards/<source>/*.tar` from their headers (ranged reads only). The enabled sources arrive
through `meta` (see _images__models.yml); entries it refuses are in int_image_catalog_rejects.
"""

from dataproc.catalog import parse_source_list, scan_lake
from dataproc.lake import lake_root


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    sources = parse_source_list(meta.get("enabled_sources"))
    return scan_lake(lake_root(), sources).catalog
