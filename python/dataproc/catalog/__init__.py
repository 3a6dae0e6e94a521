"""The image catalog: every image in the lake, and where its bytes are.

Images are files (`images/<source>/**/<key>.<ext>`) or WebDataset tar members
(`shards/<source>/*.tar`). Shards are indexed from their headers with ranged reads, never
downloaded. `scan_lake` returns the catalog (`image_key, source, key, uri, offset, length, ext,
bytes`) and a rejects table (`image_key, source, uri, member, stage, reason, detail`) that
accounts for every entry that is not catalogued; `.json`/`.txt` sidecars are skipped.
"""

from dataproc.catalog.rows import REJECT_REASONS
from dataproc.catalog.scan import CatalogResult, ShardStats, scan_lake, scan_store
from dataproc.catalog.source_list import parse_source_list
from dataproc.catalog.tables import CATALOG_SCHEMA, REJECTS_SCHEMA
from dataproc.catalog.tar_index import ShardIndex, TarMember, index_shard

__all__ = [
    "CATALOG_SCHEMA",
    "REJECTS_SCHEMA",
    "REJECT_REASONS",
    "CatalogResult",
    "ShardIndex",
    "ShardStats",
    "TarMember",
    "index_shard",
    "parse_source_list",
    "scan_lake",
    "scan_store",
]
