"""The one scan of the lake's images: one row per entry, catalogued or refused.

A thin adapter over `dataproc.catalog.scan_lake`, which lists `images/<source>/` and indexes
`shards/<source>/*.tar` from their headers (ranged reads only). The enabled sources arrive in
`meta.settings` (see _images__models.yml). int_image_catalog and int_image_catalog_rejects
select the two halves of this table, so a build scans the lake once.
"""

from dataproc.catalog import SourceSettings, scan_lake
from dataproc.config import read_settings
from dataproc.lake import Lake


def model(dbt, session):
    dbt.config(materialized="table")
    settings = read_settings(SourceSettings, dbt.config.get("meta"))
    return scan_lake(Lake(), settings.enabled_sources).entries
